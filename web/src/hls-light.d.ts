// hls.js ships no typings for its light build (no subtitles, alternate audio or DRM, which Nova
// does not use); its API is the full build's.
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
