import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { NSL_KDD_COLUMNS } from '../../../src/detectors/network/layouts.js';
import { parseFlows, readFlows } from '../../../src/detectors/network/read-flows.js';
import { NSL_KDD_RULES, ruleAlerts, rulesFor, UNSW_NB15_RULES } from '../../../src/detectors/triage/rules.js';
import { sharedPath, skipUnlessShared } from '../../helpers/shared-dir.js';

/** A quiet NSL-KDD record (an ordinary http connection) with some fields overridden, as a file line. */
function nslLine(over: Record<string, string | number>): string {
  const base: Record<string, string | number> = {};
  for (const c of NSL_KDD_COLUMNS) base[c] = 0;
  Object.assign(base, {
    protocol_type: 'tcp',
    service: 'http',
    flag: 'SF',
    src_bytes: 200,
    dst_bytes: 1500,
    logged_in: 1,
    count: 2,
    srv_count: 2,
    same_srv_rate: 1,
    dst_host_count: 10,
    dst_host_srv_count: 10,
    dst_host_same_srv_rate: 1,
    label: 'normal',
    difficulty: 21,
  });
  Object.assign(base, over);
  return NSL_KDD_COLUMNS.map((c) => base[c]).join(',');
}

function nslTable(lines: string[]) {
  return parseFlows(lines.join('\n'), { layout: 'nsl-kdd' }).table;
}

describe('NSL-KDD signature rules', () => {
  it('fire on synthetic records in the NSL-KDD layout, with the label as truth', () => {
    const table = nslTable([
      nslLine({}),
      nslLine({ serror_rate: 1, count: 120, label: 'neptune', flag: 'S0', logged_in: 0, src_bytes: 0 }),
      nslLine({ num_failed_logins: 2, service: 'telnet', label: 'guess_passwd' }),
      nslLine({ root_shell: 1, service: 'telnet', label: 'normal' }),
      nslLine({ diff_srv_rate: 0.6, label: 'normal' }),
    ]);
    const { alerts, counts } = ruleAlerts(table);
    const sigs = (row: number) =>
      alerts.filter((a) => (a.raw as { row: number }).row === row).map((a) => a.signatureId);
    assert.deepEqual(sigs(0), [], 'an ordinary http connection raises nothing');
    assert.ok(sigs(1).includes('nsl-syn-flood'));
    assert.ok(sigs(2).includes('nsl-brute-force'));
    assert.ok(sigs(3).includes('nsl-root-access'));
    assert.ok(sigs(4).includes('nsl-port-scan'));
    const syn = alerts.find((a) => a.signatureId === 'nsl-syn-flood');
    assert.equal(syn?.truth, true);
    assert.equal(syn?.severity, 'high');
    assert.equal(syn?.tactic, 'TA0040');
    assert.equal(syn?.confidence, 1);
    // Noisy by design: the root shell and the port scan fire on normal records, as false alerts.
    assert.equal(alerts.find((a) => a.signatureId === 'nsl-root-access')?.truth, false);
    assert.equal(alerts.find((a) => a.signatureId === 'nsl-port-scan')?.truth, false);
    assert.equal(counts.records, 5);
    assert.equal(counts.attacks, 2);
    assert.equal(counts.firing, 4);
    assert.equal(counts.alerts, alerts.length);
  });

  it('synthesises deterministic entities: one attacker per campaign, internal clients for normal flows', () => {
    const lines = [
      ...Array.from({ length: 5 }, () => nslLine({ serror_rate: 1, count: 50, label: 'neptune' })),
      ...Array.from({ length: 5 }, () => nslLine({ diff_srv_rate: 0.9 })),
    ];
    const a = ruleAlerts(nslTable(lines), { seed: 3 });
    const b = ruleAlerts(nslTable(lines), { seed: 3 });
    assert.deepEqual(a.alerts, b.alerts);
    const attackSrc = new Set(a.alerts.filter((x) => x.truth).map((x) => x.srcIp));
    assert.equal(attackSrc.size, 1, 'one campaign, one attacker');
    assert.match([...attackSrc][0] as string, /^(198\.51\.100|203\.0\.113)\./);
    for (const x of a.alerts.filter((y) => !y.truth)) assert.match(x.srcIp, /^10\.1\./);
    const times = a.alerts.map((x) => x.time);
    assert.deepEqual(
      times,
      [...times].sort((p, q) => p - q),
      'alerts come in time order',
    );
    const other = ruleAlerts(nslTable(lines), { seed: 4 });
    assert.notDeepEqual(
      other.alerts.map((x) => x.srcIp),
      a.alerts.map((x) => x.srcIp),
    );
  });

  it('has rules for both layouts and rejects others and unlabelled tables', () => {
    assert.ok(NSL_KDD_RULES.length >= 12 && UNSW_NB15_RULES.length >= 12);
    for (const r of [...NSL_KDD_RULES, ...UNSW_NB15_RULES]) assert.match(r.tactic, /^TA\d{4}$/);
    assert.throws(() => rulesFor('cic-ids2017'), AegisInputError);
    const unlabelled = parseFlows(nslLine({}).split(',').slice(0, 41).join(','), { layout: 'nsl-kdd' }).table;
    assert.throws(() => ruleAlerts(unlabelled), /labelled/);
  });

  it('UNSW-NB15 rules fire on synthetic records with a header', () => {
    const header =
      'id,dur,proto,service,state,spkts,dpkts,sbytes,dbytes,rate,sttl,dttl,sload,dload,sloss,dloss,sinpkt,dinpkt,sjit,djit,swin,stcpb,dtcpb,dwin,tcprtt,synack,ackdat,smean,dmean,trans_depth,response_body_len,ct_srv_src,ct_state_ttl,ct_dst_ltm,ct_src_dport_ltm,ct_dst_sport_ltm,ct_dst_src_ltm,is_ftp_login,ct_ftp_cmd,ct_flw_http_mthd,ct_src_ltm,ct_srv_dst,is_sm_ips_ports,attack_cat,label';
    const cols = header.split(',');
    const row = (over: Record<string, string | number>) => {
      const base: Record<string, string | number> = Object.fromEntries(cols.map((c) => [c, 0]));
      Object.assign(
        base,
        { proto: 'tcp', service: 'http', state: 'FIN', dur: 0.5, rate: 10, smean: 500, sbytes: 1000, spkts: 2 },
        over,
      );
      return cols.map((c) => base[c]).join(',');
    };
    const text = [
      header,
      row({ attack_cat: 'Normal', label: 0 }),
      row({ ct_src_dport_ltm: 20, attack_cat: 'Reconnaissance', label: 1 }),
      row({ is_sm_ips_ports: 1, attack_cat: 'Normal', label: 0 }),
    ].join('\n');
    const { alerts } = ruleAlerts(parseFlows(text, { layout: 'unsw-nb15' }).table, { shuffle: false });
    const by = (sig: string) => alerts.find((a) => a.signatureId === sig);
    assert.equal(by('unsw-port-scan')?.truth, true);
    assert.equal(by('unsw-same-ports')?.truth, false);
    assert.ok(!alerts.some((a) => (a.raw as { row: number }).row === 0));
  });

  it('on KDDTest+ the rules are noisy: they fire on many normal flows and most attacks', {
    skip: skipUnlessShared('datasets', 'nsl-kdd', 'KDDTest+.txt.gz'),
  }, () => {
    const { table } = readFlows(sharedPath('datasets', 'nsl-kdd', 'KDDTest+.txt.gz'));
    const { counts, alerts } = ruleAlerts(table);
    const normal = counts.records - counts.attacks;
    const normalFiring = counts.firing - counts.attacksFiring;
    assert.ok(normalFiring / normal > 0.2, `normal records firing: ${normalFiring} of ${normal}`);
    assert.ok(counts.attacksFiring / counts.attacks > 0.85, `attacks firing: ${counts.attacksFiring}`);
    assert.ok(alerts.some((a) => !a.truth) && alerts.some((a) => a.truth));
  });
});
