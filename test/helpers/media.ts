// The ffmpeg the media suites run is the one Nova resolves (FFMPEG_PATH, PATH, npm package). The
// builds shipped in the npm packages are old: ffmpeg 4.1 (2018) has no named HLS variants, which
// live HLS needs, and their ffprobe crashes on some stream queries the checks make. Suites that
// need a current ffmpeg skip with one line when only those are there (outside CI; in CI they run).
import { bundledToolsInUse, resolveMediaTools } from '../../src/media/ffmpeg.binaries.js';
import { MediaError } from '../../src/media/media.errors.js';
import { IS_CI } from './env.js';

let reported = false;

/** A reason to skip a suite that needs a current system ffmpeg, or false when there is one. */
export function currentFfmpegSkipReason(): string | false {
  let reason: string;
  try {
    const bundled = bundledToolsInUse(resolveMediaTools());
    if (bundled.length === 0) return false;
    const names = bundled.map((b) => `${b.tool} ${b.version}${b.year ? ` (${b.year})` : ''}`).join(', ');
    reason = `only the npm-bundled ${names} is available, too old for this suite: install ffmpeg (apt-get install ffmpeg) to run it`;
  } catch (err) {
    reason = err instanceof MediaError ? err.reason : String(err);
  }
  if (IS_CI) throw new Error(`a current ffmpeg is required in CI: ${reason}`);
  if (!reported) console.log(`# skip: ${reason}`);
  reported = true;
  return reason;
}
