/** Inline alert samples for the triage tests: one Suricata EVE alert and one ECS document, overridable. */

export function eveAlert(
  over: Record<string, unknown> = {},
  alert: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    timestamp: '2024-03-01T10:00:00.123456+0000',
    flow_id: 1234567,
    event_type: 'alert',
    src_ip: '10.0.0.5',
    src_port: 51000,
    dest_ip: '192.168.1.10',
    dest_port: 22,
    proto: 'TCP',
    alert: {
      action: 'allowed',
      gid: 1,
      signature_id: 2001219,
      rev: 20,
      signature: 'ET SCAN Potential SSH Scan',
      category: 'Attempted Information Leak',
      severity: 2,
      ...alert,
    },
    ...over,
  };
}

/** An EVE alert at `offsetSeconds` after 2024-03-01T10:00:00Z. */
export function eveAt(offsetSeconds: number, over: Record<string, unknown> = {}, alert: Record<string, unknown> = {}) {
  const t = new Date(Date.UTC(2024, 2, 1, 10, 0, 0) + offsetSeconds * 1000).toISOString().replace('Z', '+0000');
  return eveAlert({ timestamp: t, ...over }, alert);
}

/** An Elastic Security detection alert with flattened kibana.alert.* fields, as an Elasticsearch hit. */
export function elasticHit(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _index: '.internal.alerts-security.alerts-default-000001',
    _id: 'a1b2c3',
    _source: {
      '@timestamp': '2024-03-01T10:05:00.000Z',
      'event.kind': 'signal',
      'kibana.alert.rule.name': 'Potential Credential Access via LSASS',
      'kibana.alert.rule.rule_id': '9960432d-9b26-409f-972b-839a959e79e2',
      'kibana.alert.severity': 'high',
      'kibana.alert.risk_score': 73,
      'kibana.alert.rule.threat': [
        {
          framework: 'MITRE ATT&CK',
          tactic: { id: 'TA0006', name: 'Credential Access' },
          technique: [{ id: 'T1003', name: 'OS Credential Dumping', subtechnique: [{ id: 'T1003.001' }] }],
        },
      ],
      host: { name: 'WS-01' },
      user: { name: 'Alice' },
      source: { ip: '10.0.0.7' },
      ...over,
    },
  };
}
