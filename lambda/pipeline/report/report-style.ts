import { FONT, TEXT } from './report-charts';

/** The report page's CSS, inline in its <head> (report-html.ts): the page loads nothing. */
export const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: ${FONT}; color: ${TEXT}; margin: 0 auto; padding: 24px 32px; max-width: 1180px; line-height: 1.45; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d5dae3; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; background: #f1f3f7; padding: 0 3px; border-radius: 3px; }
code.small { font-size: 11px; word-break: break-all; }
.muted { color: #5b6573; font-size: 12.5px; }
.outcome { font-size: 16px; padding: 10px 14px; border-radius: 6px; margin: 8px 0; }
.outcome.pass { background: #e6f4ea; border-left: 6px solid #1e8e3e; }
.outcome.fail { background: #fce8e6; border-left: 6px solid #c5221f; }
.outcome.warn { background: #fef7e0; border-left: 6px solid #f29900; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { font-weight: 600; background: #f6f7fa; font-size: 12.5px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.pass td.verdict { color: #1e8e3e; font-weight: 600; }
tr.fail td.verdict { color: #c5221f; font-weight: 700; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 8px 0; max-width: 100%; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12.5px; color: #5b6573; }
.note { color: #5b6573; font-style: italic; }
.scroll { overflow-x: auto; }
table.candidates th[scope="row"] { white-space: nowrap; width: 1%; }
table.candidates .winner { background: #e6f4ea; }
table.candidates th.winner { border-top: 3px solid #1e8e3e; }
table.candidates .dropped { color: #5b6573; background: #fafafa; }
table.candidates .mark { font-weight: 400; font-size: 12px; }
.why { padding: 8px 12px; background: #f6f7fa; border-radius: 6px; }
ul.dropped li { color: #c5221f; }
.candidate h3 { font-size: 14px; margin: 12px 0 4px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  section { break-inside: auto; }
}
`;
