// Finds the ffmpeg and ffprobe executables: an explicit path from config (FFMPEG_PATH/FFPROBE_PATH),
// else the one on PATH, else the static binary shipped inside the optional npm packages
// (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe) so a machine with only Node still works.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { MediaTools } from './media.types.js';
import { MediaError } from './media.errors.js';

type Tool = 'ffmpeg' | 'ffprobe';

const PACKAGES: Record<Tool, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

export interface MediaToolOverrides {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** False refuses the npm-bundled binaries (NODE_ENV=production without FFMPEG_ALLOW_BUNDLED). */
  allowBundled?: boolean;
}

/** A resolved tool that comes from an npm package rather than the system. */
export interface BundledTool {
  tool: Tool;
  path: string;
  packageName: string;
  /** ffmpeg's own version string, e.g. `N-47683-g0e8eb07980-static`. */
  version: string;
  /** The last year of its copyright line, which is the year it was built. */
  year: number | null;
}

const cache = new Map<string, MediaTools>();

/** True when `bin -version` runs. spawnSync resolves bare names through PATH itself. */
function runs(bin: string): boolean {
  const res = spawnSync(bin, ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 15_000, shell: false });
  return res.error === undefined && res.status === 0;
}

/** Path of the binary shipped in the optional npm package, if it is installed for this platform. */
export function bundledToolPath(tool: Tool): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require(PACKAGES[tool]) as { path?: string };
    if (mod.path && fs.existsSync(mod.path)) return mod.path;
  } catch {
    // Optional dependency absent or unsupported platform: the caller reports what was tried.
  }
  return undefined;
}

/** Version string and build year from the first line of `bin -version`. */
export function toolVersion(bin: string): { version: string; year: number | null } {
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 15_000, shell: false });
  const first = (res.stdout ?? '').split('\n')[0] ?? '';
  const version = /version (\S+)/.exec(first)?.[1] ?? 'unknown';
  const year = /Copyright \(c\) \d{4}-(\d{4})/.exec(first)?.[1];
  return { version, year: year ? Number(year) : null };
}

function envName(tool: Tool): string {
  return tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
}

function resolveOne(tool: Tool, explicit: string | undefined, allowBundled: boolean): string {
  if (explicit) {
    if (!runs(explicit)) throw new MediaError('tool_missing', `${envName(tool)} points to "${explicit}", which does not run as ${tool}.`);
    return explicit;
  }
  if (runs(tool)) return tool;
  const bundled = bundledToolPath(tool);
  if (bundled && runs(bundled)) {
    if (allowBundled) return bundled;
    const { version, year } = toolVersion(bundled);
    throw new MediaError(
      'tool_missing',
      `${tool} is not on PATH and NODE_ENV=production refuses the ${tool} bundled in ${PACKAGES[tool]} (version ${version}${year ? `, built ${year}` : ''}) for decoding untrusted uploads: install a current ${tool} (e.g. apt-get install ffmpeg), set ${envName(tool)}, or accept the bundled one with FFMPEG_ALLOW_BUNDLED=true.`,
    );
  }
  throw new MediaError('tool_missing', `${tool} was not found: install it on PATH (e.g. apt-get install ffmpeg), install the optional package ${PACKAGES[tool]}, or set ${envName(tool)}.`);
}

/** Resolves both tools once per distinct override set; throws MediaError('tool_missing') with what to do. */
export function resolveMediaTools(overrides: MediaToolOverrides = {}): MediaTools {
  const allowBundled = overrides.allowBundled ?? true;
  const key = `${overrides.ffmpegPath ?? ''}\0${overrides.ffprobePath ?? ''}\0${allowBundled}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const tools = { ffmpeg: resolveOne('ffmpeg', overrides.ffmpegPath, allowBundled), ffprobe: resolveOne('ffprobe', overrides.ffprobePath, allowBundled) };
  cache.set(key, tools);
  return tools;
}

/** The resolved tools that are the npm packages' builds, with their versions (empty for system tools). */
export function bundledToolsInUse(tools: MediaTools): BundledTool[] {
  const out: BundledTool[] = [];
  for (const tool of ['ffmpeg', 'ffprobe'] as const) {
    const bundled = bundledToolPath(tool);
    if (bundled && tools[tool] === bundled) out.push({ tool, path: bundled, packageName: PACKAGES[tool], ...toolVersion(bundled) });
  }
  return out;
}
