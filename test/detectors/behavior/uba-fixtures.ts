/** Small BehaviorEvent builders for the UBA tests. */
import type { BehaviorEvent } from '../../../src/detectors/behavior/event.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Monday 2024-01-08 00:00 UTC. */
export const T0 = Date.UTC(2024, 0, 8);

let seq = 0;
export function ev(partial: Partial<BehaviorEvent> & { time: number }): BehaviorEvent {
  return {
    user: 'alice',
    domain: 'corp',
    host: 'ws1',
    source: '10.0.0.1',
    action: 'logon',
    outcome: partial.action === 'logon-failure' ? 'failure' : 'success',
    detail: partial.action === undefined || partial.action === 'logon' ? '2' : '',
    machineAccount: false,
    recordId: `t-${++seq}`,
    sourceFormat: 'test',
    rawType: '',
    ...partial,
  };
}

/** `days` weekdays of routine for `user`: logon at 09:xx on its workstation, a file-server visit, two processes. */
export function routine(user: string, days: number, opts: { admin?: boolean; host?: string; source?: string } = {}) {
  const host = opts.host ?? `ws-${user}`;
  const source = opts.source ?? `10.0.0.${user.length}`;
  const out: BehaviorEvent[] = [];
  for (let d = 0, n = 0; n < days; d++) {
    const day0 = T0 + d * DAY;
    const wd = new Date(day0).getUTCDay();
    if (wd === 0 || wd === 6) continue;
    n++;
    const t = day0 + 9 * HOUR + ((d * 7) % 30) * 60_000;
    out.push(ev({ time: t, user, host, source, action: 'logon', detail: '2' }));
    if (opts.admin) out.push(ev({ time: t + 100, user, host, source, action: 'privilege-use' }));
    out.push(ev({ time: t + 600_000, user, host: 'fs1', source, action: 'logon', detail: '3' }));
    out.push(
      ev({ time: t + 700_000, user, host: 'dc1', source, action: 'kerberos-service-ticket', detail: 'cifs/fs1' }),
    );
    out.push(ev({ time: t + 800_000, user, host, source, action: 'process', detail: 'outlook.exe' }));
    out.push(ev({ time: t + 7 * HOUR, user, host, source, action: 'process', detail: 'excel.exe' }));
  }
  return out;
}
