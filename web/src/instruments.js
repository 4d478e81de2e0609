// What the charts draw for an instrument: its range, the clinical cut-off (or, for alliance
// measures, the alert line) and the reliable-change band. The server's flags carry the
// thresholds actually in force (its configurable table, `--thresholds_file`), so those win;
// the defaults below are only used before any flag names them, and are the published values
// in reference/instruments.md (ORS: Miller, Duncan et al. 2003, adult cut-off 25, reliable
// change 5; SRS: Duncan, Miller et al. 2003, below 36 worth talking about).
const DEFAULTS = {
  ORS: { max: 40, cutoff: 25, reliableChange: 5, alliance: false },
  SRS: { max: 40, cutoff: 36, reliableChange: 0, alliance: true },
};

export function instrumentInfo(id, flags = []) {
  const info = { max: 40, cutoff: 0, reliableChange: 0, alliance: false, ...(DEFAULTS[id] || {}) };
  for (const f of flags) {
    if (f.subject !== id || !f.threshold) continue;
    const threshold = Number(f.threshold);
    if (f.kind === 'BELOW_CLINICAL_CUTOFF' || f.kind === 'CROSSED_CLINICAL_CUTOFF') info.cutoff = threshold;
    if (f.kind === 'ALLIANCE_ALERT' && threshold > 0 && threshold <= info.max) { info.cutoff = threshold; info.alliance = true; }
    if (f.kind === 'RELIABLE_IMPROVEMENT' || f.kind === 'RELIABLE_DETERIORATION') info.reliableChange = threshold;
  }
  return info;
}
