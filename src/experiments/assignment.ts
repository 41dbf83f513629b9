// Deterministic variant assignment. A user's position n ∈ [0,1) comes from FNV-1a (with an
// avalanche finalizer) over "<experiment key>:<user id>". Each variant owns the range [start_i, start_i + w_i · coverage),
// where start_i is the cumulative weight before it, so raising traffic only widens every range
// in place: users already inside keep their variant, newcomers fill the new space (GrowthBook's
// bucket-range property). Users whose n falls outside every range are not in the experiment.

/** 32-bit FNV-1a over the UTF-8 bytes of s. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: FNV-1a alone spreads near-identical ids (user-1, user-2…) unevenly. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashPosition(experimentKey: string, userId: string): number {
  return fmix32(fnv1a32(`${experimentKey}:${userId}`)) / 0x100000000;
}

export interface WeightedVariant {
  key: string;
  weight: number;
}

/** Bucket ranges for variants at a coverage (traffic fraction 0..1). */
export function bucketRanges(variants: WeightedVariant[], coverage: number): Array<[number, number]> {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  let start = 0;
  return variants.map((v) => {
    const w = total > 0 ? v.weight / total : 0;
    const range: [number, number] = [start, start + w * Math.min(Math.max(coverage, 0), 1)];
    start += w;
    return range;
  });
}

/** The variant key for a position, or null when the user falls outside the traffic. */
export function chooseVariant(n: number, variants: WeightedVariant[], coverage: number): string | null {
  const ranges = bucketRanges(variants, coverage);
  for (let i = 0; i < ranges.length; i++) if (n >= ranges[i][0] && n < ranges[i][1]) return variants[i].key;
  return null;
}
