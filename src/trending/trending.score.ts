// The trending score, as pure functions. Each window (1h, 24h, 7d) has its own half-life (a quarter
// of the window): an engagement of weight w at time t is worth w·2^-(now−t)/h now. Scores are kept
// in log space relative to a fixed epoch, L = ln Σ w·2^((t−T0)/h), so adding an event is one
// log-add-exp and never needs the other scores to decay: every score would be multiplied by the
// same factor, so the order of L is the order of the decayed scores (Bernhardsson's trick). The
// decayed value is recovered as exp(L − (now−T0)·ln2/h) only for display.

export const WINDOWS = ['1h', '24h', '7d'] as const;
export type TrendingWindow = (typeof WINDOWS)[number];

export const WINDOW_SECONDS: Record<TrendingWindow, number> = { '1h': 3600, '24h': 86_400, '7d': 7 * 86_400 };

/** Half-life of each window: an engagement at the window's far edge counts 1/16. */
export const HALF_LIFE_SECONDS: Record<TrendingWindow, number> = { '1h': 900, '24h': 6 * 3600, '7d': 42 * 3600 };

/** Weights of engagement kinds. A like says more than a view; a watched minute about as much as a view. */
export const WEIGHTS = { view: 1, like: 3, watchMinute: 1, maxWatchMinutesPerEvent: 60 } as const;

/** The epoch of the log-space scores (any fixed instant works; a recent one keeps numbers small). */
export const EPOCH_MS = Date.UTC(2024, 0, 1);

const LN2 = Math.LN2;

/** ln(w·2^((t−T0)/h)): one engagement's term in log space. */
export function logTerm(window: TrendingWindow, weight: number, atMs: number): number {
  return Math.log(weight) + ((atMs - EPOCH_MS) / 1000 / HALF_LIFE_SECONDS[window]) * LN2;
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** The decayed score now, for display: the weighted engagement count as it stands at `nowMs`. */
export function displayScore(window: TrendingWindow, logScore: number, nowMs: number): number {
  return Math.exp(logScore - ((nowMs - EPOCH_MS) / 1000 / HALF_LIFE_SECONDS[window]) * LN2);
}

export function isWindow(w: string): w is TrendingWindow {
  return (WINDOWS as readonly string[]).includes(w);
}
