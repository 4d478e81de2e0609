// What the charts draw for an instrument: its range, the clinical cut-off (or, for alliance
// measures, the alert line) and the reliable-change band. The server sends the thresholds in
// force with every Progress (its table, `--thresholds_file`), so the lines drawn are the ones
// the flags were raised against. The defaults below are only for an instrument the server does
// not describe: the published values in reference/instruments.md (ORS: Miller, Duncan et al.
// 2003, adult cut-off 25, reliable change 5; SRS: Duncan, Miller et al. 2003, below 36 worth
// talking about).
const DEFAULTS = {
  ORS: { max: 40, cutoff: 25, reliableChange: 5, alliance: false },
  SRS: { max: 40, cutoff: 36, reliableChange: 0, alliance: true },
};

// `thresholds`: Progress.thresholds (proto3 JSON: absent optional values are left out).
export function instrumentInfo(id, thresholds = []) {
  const info = { max: 40, cutoff: 0, reliableChange: 0, alliance: false, ...(DEFAULTS[id] || {}) };
  const t = thresholds.find((x) => x.instrument === id);
  if (!t) return info;
  info.max = Number(t.totalMax ?? info.max);
  if (t.allianceCutoff !== undefined) {
    info.cutoff = Number(t.allianceCutoff);
    info.alliance = true;
  } else {
    info.cutoff = t.clinicalCutoff !== undefined ? Number(t.clinicalCutoff) : 0;
    info.alliance = false;
  }
  info.reliableChange = t.reliableChange !== undefined ? Number(t.reliableChange) : 0;
  return info;
}
