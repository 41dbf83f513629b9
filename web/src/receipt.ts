// The quality receipt of a ready video: for each rendition its size on disk, average and peak
// bitrate and the picture quality measured against the source (SSIM, worst decile, PSNR).
import { h } from './dom.js';
import { bytes, kbps } from './format.js';
import type { Video } from './types.js';

export function receiptTable(video: Video): HTMLElement | null {
  const rows = (video.renditions ?? []).filter((r) => r.height > 0).sort((a, b) => b.height - a.height);
  if (rows.length === 0) return null;
  const mode = video.encoding?.mode === 'per_title' ? 'per-title' : video.encoding?.mode === 'fixed' ? 'fixed bitrates' : null;
  const cell = (v: string) => h('td', null, v);
  return h(
    'section',
    { class: 'receipt', 'aria-label': 'Encoding receipt' },
    h('h2', null, 'Encoding receipt', mode ? h('span', { class: 'meta' }, ` · ${mode}`) : null),
    // Focusable, so a keyboard can scroll the table sideways on a narrow screen.
    h(
      'div',
      { class: 'table-wrap', tabindex: 0, role: 'group', 'aria-label': 'Encoding receipt table' },
      h(
        'table',
        null,
        h('thead', null, h('tr', null, ...['Rendition', 'Size', 'Average', 'Peak', 'SSIM', 'SSIM worst 10 %', 'PSNR'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          ...rows.map((r) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row' }, `${r.height}p`),
              cell(typeof r.bytes === 'number' ? bytes(r.bytes) : '–'),
              cell(typeof r.average_bandwidth === 'number' ? kbps(r.average_bandwidth) : '–'),
              cell(kbps(r.bandwidth)),
              cell(r.quality ? r.quality.ssim.toFixed(4) : '–'),
              cell(r.quality ? r.quality.ssim_p10.toFixed(4) : '–'),
              cell(r.quality ? `${r.quality.psnr.toFixed(1)} dB` : '–'),
            ),
          ),
        ),
      ),
    ),
  );
}
