// The VOD pipeline, run by the job queue for each uploaded video: verify the upload, probe it, pick
// the ladder, transcode once for every rung (publishing early segments so playback starts before the
// end), write thumbnails and storyboard, store the outputs, record them and publish the video.
// Temp files are removed on every outcome; invalid media fails at once with the toolkit's reason.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Tables } from '../infra/db/schema.js';
import { JobError, type JobContext, type JobHandler, type JobOutcome, type JobRow } from '../infra/queue/queue.js';
import type { ObjectStorage } from '../infra/storage/storage.js';
import { MediaError, type MediaToolkit, type ThumbnailResult } from '../media/index.js';
import { runPrefix, runsPrefix } from '../videos/videos.keys.js';
import type { StoredRendition, VideoRow } from '../videos/videos.repository.js';
import type { VideosService } from '../videos/videos.service.js';
import { ProgressReporter } from './transcode.progress.js';
import { HlsPublisher } from './transcode.publisher.js';

export interface TranscodeHandlerOptions {
  /** Work folders live here, one per job: DATA_DIR/tmp/transcode. */
  workRoot: string;
}

/** What the video's owner sees when the server's own tools are missing: paths stay in the logs. */
const TOOLS_UNAVAILABLE = 'Video processing is unavailable on the server right now; an operator has to install ffmpeg.';

function toJobError(err: unknown): unknown {
  if (err instanceof MediaError) return new JobError(err.code === 'tool_missing' ? TOOLS_UNAVAILABLE : err.reason, !err.retryable);
  return err;
}

export class TranscodeHandler implements JobHandler {
  constructor(
    private readonly videos: VideosService,
    private readonly media: MediaToolkit,
    private readonly storage: ObjectStorage,
    private readonly opts: TranscodeHandlerOptions,
  ) {}

  async run(job: JobRow, queueCtx: JobContext): Promise<void> {
    if (!job.subject_id) throw new JobError('The job names no video.', true);
    // The queue logs a job's generic subject; the pipeline's lines name the video, as operators search them.
    const ctx: JobContext = { ...queueCtx, logger: queueCtx.logger.child({ video_id: job.subject_id }) };
    const video = await this.videos.startProcessing(job.subject_id);
    if (!video) return; // deleted, or already processed by an earlier delivery of this job
    // A folder per attempt under the job's folder. Whatever an earlier attempt left there (a killed
    // worker; even its orphaned ffmpeg, which then fails writing into a removed folder) is cleared.
    const runId = randomBytes(8).toString('hex');
    const jobDir = path.join(this.opts.workRoot, job.id);
    const work = path.join(jobDir, runId);
    await fsp.rm(jobDir, { recursive: true, force: true });
    await fsp.mkdir(path.join(work, 'hls'), { recursive: true });
    const progress = new ProgressReporter(this.videos, ctx, video, job.attempts);
    const publisher = new HlsPublisher(this.storage, `${runPrefix(video.id, runId)}hls/`, path.join(work, 'hls'), ctx.logger);
    let published = false;
    try {
      await this.pipeline(video, runId, work, progress, publisher, ctx);
      published = true;
    } catch (err) {
      await publisher.stopEarly().catch(() => {});
      throw toJobError(err);
    } finally {
      await progress.close();
      // Only this attempt's folder: a worker that took the job over may be using a sibling.
      await fsp.rm(work, { recursive: true, force: true }).catch(() => {});
      await fsp.rmdir(jobDir).catch(() => {});
      if (!published) await this.discardRun(video.id, runId);
    }
    // Temp files are gone: listeners get the final snapshot (ready, cleanup) and stop.
    progress.finish();
  }

  private async pipeline(video: VideoRow, runId: string, work: string, progress: ProgressReporter, publisher: HlsPublisher, ctx: JobContext): Promise<void> {
    const { signal } = ctx;
    const check = () => {
      if (signal.aborted) throw signal.reason;
    };

    await progress.enter('verify_upload');
    const input = await this.localSource(video, work);
    check();

    await progress.enter('extract_metadata');
    const info = await this.media.probe(input, signal);
    await this.videos.recordMetadata(video.id, {
      duration_seconds: info.duration_seconds,
      width: info.has_video ? info.width : null,
      height: info.has_video ? info.height : null,
      fps: info.has_video ? info.fps : null,
      has_audio: info.has_audio ? 1 : 0,
      video_codec: info.video_codec,
      audio_codec: info.audio_codec,
    });
    check();
    // The complexity probe runs inside extract_metadata's span: select_tiers and transcode both
    // start at 30, so progress moves on through 20..29 and never goes back.
    const complexity = await this.media.complexity({ inputPath: input, workDir: path.join(work, 'probe'), info, signal, onProgress: (f) => progress.advance(20, 29, f) });
    check();

    await progress.enter('select_tiers');
    const ladder = this.media.plan(info, complexity);
    ctx.logger.info(
      {
        rungs: ladder.video.map((r) => ({ name: r.name, rc: r.rate_control, predicted_kbps: r.predicted_kbps })),
        audio: Boolean(ladder.audio),
        mode: ladder.mode,
        bits_per_pixel: complexity?.bits_per_pixel,
      },
      'ladder selected',
    );
    check();

    await progress.enter('transcode');
    const hlsDir = path.join(work, 'hls');
    const result = await this.media.transcodeToHls({
      inputPath: input,
      outDir: hlsDir,
      info,
      ladder,
      signal,
      onProgress: (f) => progress.advance(30, 72, f),
      onPlayable: (master) => publisher.startEarly(master, (key) => this.videos.setPlayable(video.id, key)),
    });
    await publisher.stopEarly();
    check();
    // Quality receipts are part of transcoding's span (72..80): a second, decode-only pass.
    const measured = await this.media.measureQuality({
      inputPath: input,
      hlsDir,
      workDir: path.join(work, 'quality'),
      info,
      ladder,
      renditions: result.renditions,
      signal,
      onProgress: (f) => progress.advance(72, 80, f),
    });
    check();

    await progress.enter('generate_manifest');
    await this.assertVodPlaylists(hlsDir, result.files);
    const thumbs = info.has_video ? await this.media.thumbnails({ inputPath: input, outDir: path.join(work, 'thumbs'), info, signal }) : null;
    check();

    await progress.enter('upload_outputs');
    await publisher.uploadAll(result.files, result.master, (f) => progress.advance(80, 94, f));
    const thumbKeys = thumbs ? await this.uploadThumbnails(video.id, runId, path.join(work, 'thumbs'), thumbs) : null;
    check();

    await progress.enter('update_database');
    const renditions: StoredRendition[] = measured.map((r) => ({
      height: r.height,
      width: r.width,
      bandwidth: r.bandwidth,
      average_bandwidth: r.average_bandwidth,
      codecs: r.codecs,
      frame_rate: r.frame_rate,
      playlist: publisher.key(r.playlist),
      bytes: r.bytes,
      quality: r.quality ? { ssim: r.quality.ssim, psnr: r.quality.psnr, ssim_p10: r.quality.ssim_p10 } : null,
    }));
    await this.videos.recordOutputs(video.id, {
      runId,
      renditions,
      encodingMode: ladder.mode,
      manifestKey: publisher.key(result.master),
      thumbnailKey: thumbKeys?.poster ?? null,
      storyboardKey: thumbKeys?.sprite ?? null,
      storyboardVttKey: thumbKeys?.vtt ?? null,
    });
    check();

    await progress.enter('publish');
    if (!(await this.videos.publish(video, renditions.length, info.duration_seconds))) {
      throw new JobError('The video changed while it was processed.', true);
    }
    await this.discardOtherRuns(video.id, runId, ctx);
  }

  /** A path ffmpeg can read: the stored file itself on local storage, else a download into the work folder. */
  private async localSource(video: VideoRow, work: string): Promise<string> {
    if (!video.source_key) throw new JobError('The video has no uploaded file.', true);
    const info = await this.storage.stat(video.source_key);
    if (!info) throw new JobError('The uploaded file is missing from storage.', true);
    if (info.size === 0) throw new JobError('The uploaded file is empty.', true);
    const local = this.storage.localPath(video.source_key);
    if (local !== null) return local;
    const file = path.join(work, 'source');
    await this.storage.download(video.source_key, file);
    return file;
  }

  /** Every media playlist must be a finished VOD playlist before it is published. */
  private async assertVodPlaylists(dir: string, files: string[]): Promise<void> {
    for (const f of files.filter((x) => x.endsWith('.m3u8'))) {
      const text = await fsp.readFile(path.join(dir, f), 'utf8');
      if (text.includes('#EXTINF') && !text.includes('#EXT-X-ENDLIST')) {
        throw new JobError('The transcoder produced an unfinished playlist.', false);
      }
    }
  }

  private async uploadThumbnails(videoId: string, runId: string, dir: string, t: ThumbnailResult): Promise<{ poster: string; sprite: string; vtt: string }> {
    const prefix = `${runPrefix(videoId, runId)}thumbs/`;
    for (const f of t.files) await this.storage.putFile(`${prefix}${f}`, path.join(dir, f), { cacheControl: 'public, max-age=31536000, immutable' });
    return { poster: `${prefix}${t.poster}`, sprite: `${prefix}${t.sprite}`, vtt: `${prefix}${t.vtt}` };
  }

  /** Outputs of earlier attempts (e.g. an early playlist of a killed worker) go once a run is published. */
  private async discardOtherRuns(videoId: string, keep: string, ctx: JobContext): Promise<void> {
    try {
      const keys = await this.storage.list(runsPrefix(videoId));
      const keepPrefix = runPrefix(videoId, keep);
      await Promise.all(keys.filter((k) => !k.startsWith(keepPrefix)).map((k) => this.storage.delete(k)));
    } catch (err) {
      ctx.logger.warn({ err }, 'removing outputs of earlier attempts failed');
    }
  }

  private async discardRun(videoId: string, runId: string): Promise<void> {
    await this.storage.deletePrefix(runPrefix(videoId, runId)).catch(() => {});
    // A video deleted mid-run may have had objects re-created by the early publisher.
    if (!(await this.videos.repo.findById(videoId))) await this.videos.removeObjects(videoId);
  }

  async onFailure(trx: Transaction<Tables>, job: JobRow, failure: { message: string; final: boolean }): Promise<void> {
    if (job.subject_id) await this.videos.onJobFailure(trx, job.subject_id, failure);
  }

  async onRequeued(trx: Transaction<Tables>, job: JobRow): Promise<void> {
    if (job.subject_id) await this.videos.onJobRequeued(trx, job.subject_id);
  }

  async settled(job: JobRow, outcome: JobOutcome): Promise<void> {
    if (job.subject_id && outcome !== 'lost') await this.videos.publishSnapshot(job.subject_id);
  }
}
