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

function resolveOne(tool: Tool, explicit: string | undefined): string {
  if (explicit) {
    if (!runs(explicit)) {
      const v = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
      throw new MediaError('tool_missing', `${v} points to "${explicit}", which does not run as ${tool}.`);
    }
    return explicit;
  }
  if (runs(tool)) return tool;
  const bundled = bundledToolPath(tool);
  if (bundled && runs(bundled)) return bundled;
  throw new MediaError(
    'tool_missing',
    `${tool} was not found: install it on PATH (e.g. apt-get install ffmpeg), install the optional package ${PACKAGES[tool]}, or set ${tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'}.`,
  );
}

/** Resolves both tools once per distinct override pair; throws MediaError('tool_missing') with what to do. */
export function resolveMediaTools(overrides: { ffmpegPath?: string; ffprobePath?: string } = {}): MediaTools {
  const key = `${overrides.ffmpegPath ?? ''}\0${overrides.ffprobePath ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const tools = { ffmpeg: resolveOne('ffmpeg', overrides.ffmpegPath), ffprobe: resolveOne('ffprobe', overrides.ffprobePath) };
  cache.set(key, tools);
  return tools;
}
