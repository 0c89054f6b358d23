// The one stylesheet of the Step 2 pages. The server serves it at
// `${assetBase}/${STYLESHEET_NAME}`; the Content-Security-Policy allows
// styles from 'self' only, so the pages carry no style attributes.
//
// The colours are the registration email's: navy #1e3a8a header and buttons,
// a white card on a grey background, dark grey text. Every text colour has a
// contrast of at least 4.5:1 on its background (noted beside it).

export const STYLESHEET_NAME = 'portalctl.css';

export const STYLESHEET = `/* portalctl Step 2 pages */
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; color-scheme: light; }
body {
  margin: 0;
  background: #f3f4f6;
  color: #1f2937; /* 13.5:1 on #f3f4f6, 14.7:1 on white */
  font-family: Arial, Helvetica, sans-serif;
  font-size: 1rem;
  line-height: 1.5;
  /* A long address or a one-word portal name wraps instead of widening the page past a phone's screen. */
  overflow-wrap: anywhere;
}
/* Only the side padding, so main, header and footer keep their own top and bottom padding. */
.wrap { max-width: 40rem; margin: 0 auto; padding-left: 1rem; padding-right: 1rem; }
.site-header { background: #1e3a8a; color: #ffffff; /* 10.4:1 */ }
.site-header .wrap { padding-top: 1rem; padding-bottom: 1rem; }
.brand { margin: 0; font-size: 1.25rem; line-height: 1.3; font-weight: bold; overflow-wrap: anywhere; }
main { padding-top: 1.5rem; padding-bottom: 1rem; }
.card {
  background: #ffffff;
  border: 1px solid #e5e7eb;
  border-radius: 6px;
  padding: 1.5rem 1.75rem;
}
h1 { margin: 0 0 1rem 0; font-size: 1.5rem; line-height: 1.25; color: #1e3a8a; /* 10.4:1 */ overflow-wrap: anywhere; }
h2 { margin: 1.75rem 0 0.5rem 0; font-size: 1.125rem; line-height: 1.3; color: #1e3a8a; }
p, ul, ol { margin: 0 0 0.875rem 0; }
ul.steps, ol.steps { padding-left: 1.25rem; }
ul.steps li, ol.steps li { margin-bottom: 0.5rem; }
strong { font-weight: bold; }
a { color: #1e3a8a; text-decoration: underline; text-underline-offset: 2px; }
a:hover { color: #172554; text-decoration-thickness: 2px; }
.muted { color: #4b5563; /* 7.6:1 on white */ }
.small { font-size: 0.875rem; }
.url { font-family: Consolas, Menlo, Monaco, monospace; overflow-wrap: anywhere; }

/* Boxes: what must not be missed. */
.notice, .problem, .done {
  margin: 0 0 1rem 0;
  padding: 0.625rem 0.875rem;
  border-left: 4px solid #d97706;
  background: #fef3c7; /* #1f2937 text: 12.9:1 */
}
.problem { border-left-color: #b91c1c; background: #fef2f2; }
.done { border-left-color: #15803d; background: #f0fdf4; }

/* The login service buttons: one per row, full width, easy to hit on a phone. */
.services { list-style: none; margin: 0 0 1rem 0; padding: 0; }
.services li { margin: 0 0 0.875rem 0; }
.hint { margin: 0.25rem 0 0 0; font-size: 0.875rem; color: #4b5563; }
.button, button {
  display: block;
  width: 100%;
  min-height: 3rem;
  margin: 0;
  padding: 0.75rem 1rem;
  border: 2px solid #1e3a8a;
  border-radius: 4px;
  background: #1e3a8a;
  color: #ffffff; /* 10.4:1 */
  font: inherit;
  font-size: 1.0625rem;
  font-weight: bold;
  line-height: 1.3;
  text-align: center;
  text-decoration: none;
  cursor: pointer;
  overflow-wrap: anywhere;
}
.button:hover, button:hover { background: #172554; border-color: #172554; color: #ffffff; }
button:disabled, button:disabled:hover {
  background: #e5e7eb;
  border: 2px dashed #9ca3af;
  color: #4b5563; /* 6.1:1 on #e5e7eb */
  cursor: not-allowed;
}
a.button { display: inline-block; width: auto; min-width: 14rem; }

/* Keyboard focus: a navy ring with a white gap, visible on white, grey and navy. */
a:focus-visible, button:focus-visible {
  outline: 3px solid #1e3a8a;
  outline-offset: 3px;
  box-shadow: 0 0 0 3px #ffffff;
}
.site-header a:focus-visible { outline-color: #ffffff; box-shadow: none; }

.site-footer { padding-top: 0.75rem; padding-bottom: 2rem; font-size: 0.875rem; color: #4b5563; /* 6.9:1 on #f3f4f6 */ }
.site-footer p { margin: 0 0 0.5rem 0; }

@media (max-width: 30rem) {
  .wrap { padding-left: 0.75rem; padding-right: 0.75rem; }
  main { padding-top: 1rem; }
  .card { padding: 1.25rem 1rem; }
  h1 { font-size: 1.3125rem; }
  a.button { display: block; width: 100%; min-width: 0; }
}

@media (forced-colors: active) {
  .button, button { border: 2px solid ButtonText; }
  a:focus-visible, button:focus-visible { outline: 3px solid Highlight; }
}
`;
