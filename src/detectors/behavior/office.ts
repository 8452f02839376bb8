/**
 * A synthetic but realistic office population (seeded): the benign background for the compromise
 * simulator when no long real benign stream is at hand (the OTRF recordings last minutes).
 *
 * Each user has a workstation and an IP, a working day (start ~ N(8.5 h, 0.7 h), length ~ N(8.5 h,
 * 0.7 h), in the population's local time = UTC here), 1–3 habitual servers among a shared pool, a
 * personal mix of common processes, and the Kerberos services they use. A workday produces a TGT,
 * an interactive logon on the workstation, network logons and share access to habitual servers with
 * service tickets, process starts through the day, an unlock after lunch and a logoff. Admins (5 %)
 * get 4672 at each logon and occasionally use explicit credentials (4648) towards servers.
 *
 * Benign noise that a UBA model must tolerate, on purpose: password typos (one failure, rarely two,
 * before success), occasional late evenings and weekend work by some users, an occasional visit to a
 * server outside one's habits, an occasional logon from a second address (VPN/laptop), new hires
 * joining part-way through, and service accounts running nightly jobs on every server. Machine
 * accounts (workstation$) authenticate to the domain controller all day.
 */
import { Rng } from '../../core/rng.js';
import type { BehaviorAction, BehaviorEvent, BehaviorOutcome } from './event.js';

export interface OfficeOptions {
  users?: number;
  days?: number;
  seed?: number;
  /** First day, midnight UTC in ms (default Monday 2024-01-08). */
  start?: number;
  domain?: string;
  /** Shared servers (default 12). */
  servers?: number;
  adminShare?: number;
  /** Share of users that join part-way through (default 0.05). */
  newHireShare?: number;
  /** Service accounts with nightly jobs (default 2). */
  serviceAccounts?: number;
}

export interface OfficeUser {
  user: string;
  workstation: string;
  ip: string;
  admin: boolean;
  servers: string[];
  /** First day the user is active (new hires > 0). */
  joinDay: number;
}

export interface Office {
  events: BehaviorEvent[];
  users: OfficeUser[];
  servers: string[];
  dc: string;
  domain: string;
  start: number;
  days: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PROCESSES = [
  'c:\\program files\\microsoft office\\outlook.exe',
  'c:\\program files\\microsoft office\\winword.exe',
  'c:\\program files\\microsoft office\\excel.exe',
  'c:\\program files\\google\\chrome\\application\\chrome.exe',
  'c:\\program files\\microsoft\\edge\\application\\msedge.exe',
  'c:\\windows\\explorer.exe',
  'c:\\windows\\system32\\notepad.exe',
  'c:\\program files\\microsoft\\teams\\teams.exe',
  'c:\\windows\\system32\\mstsc.exe',
  'c:\\program files\\7-zip\\7zfm.exe',
  'c:\\windows\\system32\\calc.exe',
  'c:\\program files\\adobe\\acrord32.exe',
];
const ADMIN_PROCESSES = [
  'c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe',
  'c:\\windows\\system32\\cmd.exe',
  'c:\\windows\\system32\\mmc.exe',
];

function pickWeighted<T>(rng: Rng, items: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const w of weights) total += w;
  let r = rng.next() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i];
    if (r <= 0) return items[i];
  }
  return items[items.length - 1];
}

/** Generates the office's events, sorted by time. */
export function generateOffice(options: OfficeOptions = {}): Office {
  const nUsers = options.users ?? 200;
  const days = options.days ?? 14;
  const rng = new Rng(options.seed ?? 1);
  const start = options.start ?? Date.UTC(2024, 0, 8);
  const domain = options.domain ?? 'corp';
  const adminShare = options.adminShare ?? 0.05;
  const newHireShare = options.newHireShare ?? 0.05;
  const servers = Array.from({ length: options.servers ?? 12 }, (_, i) => `srv${String(i + 1).padStart(2, '0')}`);
  const serverWeights = servers.map((_, i) => 1 / (i + 1)); // a few popular servers, a long tail
  const dc = 'dc01';
  const events: BehaviorEvent[] = [];
  let seq = 0;
  const emit = (
    time: number,
    user: string,
    host: string,
    source: string,
    action: BehaviorAction,
    detail = '',
    rawType = '',
    outcome: BehaviorOutcome = action === 'logon-failure' ? 'failure' : 'success',
    machineAccount = false,
  ): void => {
    events.push({
      time: Math.round(time),
      user,
      domain,
      host,
      source,
      action,
      outcome,
      detail,
      machineAccount,
      recordId: `office-${++seq}`,
      sourceFormat: 'simulated',
      rawType,
    });
  };

  const users: OfficeUser[] = [];
  for (let i = 0; i < nUsers; i++) {
    const id = String(i + 1).padStart(4, '0');
    const habitual = new Set<string>();
    const k = 1 + rng.int(3);
    while (habitual.size < k) habitual.add(pickWeighted(rng, servers, serverWeights));
    users.push({
      user: `user${id}`,
      workstation: `ws${id}`,
      ip: `10.1.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`,
      admin: rng.next() < adminShare,
      servers: [...habitual],
      joinDay: rng.next() < newHireShare ? 1 + rng.int(Math.max(1, days - 2)) : 0,
    });
  }

  for (const u of users) {
    const dayStart = 8.5 + 0.7 * rng.normal();
    const dayLength = Math.min(11, Math.max(6, 8.5 + 0.7 * rng.normal()));
    const weekendWorker = rng.next() < 0.2;
    const lateWorker = rng.next() < 0.15;
    const favourites = PROCESSES.filter(() => rng.next() < 0.5);
    if (favourites.length === 0) favourites.push(PROCESSES[0]);
    const procs = u.admin ? [...favourites, ...ADMIN_PROCESSES] : favourites;
    const altIp = `10.8.${rng.int(250)}.${1 + rng.int(250)}`;
    for (let d = u.joinDay; d < days; d++) {
      const day0 = start + d * DAY;
      const weekday = (new Date(day0).getUTCDay() + 7) % 7;
      const weekend = weekday === 0 || weekday === 6;
      if (weekend && !(weekendWorker && rng.next() < 0.3)) continue;
      if (!weekend && rng.next() < 0.05) continue; // leave, sick day
      const begin = day0 + (weekend ? dayStart + 1.5 : dayStart + 0.3 * rng.normal()) * HOUR;
      let end = begin + (weekend ? 2 + rng.next() * 2 : dayLength + 0.4 * rng.normal()) * HOUR;
      if (lateWorker && rng.next() < 0.15) end += (2 + rng.next() * 3) * HOUR;
      const source = rng.next() < 0.02 ? altIp : u.ip;
      let t = begin;
      const typos = rng.next() < 0.03 ? (rng.next() < 0.1 ? 2 : 1) : 0;
      for (let f = 0; f < typos; f++) {
        emit(t, u.user, u.workstation, source, 'logon-failure', '2', '4625');
        t += 5_000 + rng.next() * 10_000;
      }
      emit(t, u.user, dc, source, 'kerberos-tgt', '', '4768');
      emit(t + 400, u.user, u.workstation, source, 'logon', '2', '4624');
      if (u.admin) emit(t + 420, u.user, u.workstation, source, 'privilege-use', '', '4672');
      const todays = [...u.servers];
      if (rng.next() < 0.03) todays.push(pickWeighted(rng, servers, serverWeights)); // a one-off visit
      for (const s of todays) {
        const ts = t + rng.next() * 2 * HOUR;
        emit(ts, u.user, dc, source, 'kerberos-service-ticket', `cifs/${s}`, '4769');
        emit(ts + 300, u.user, s, source, 'logon', '3', '4624');
        const shares = 1 + rng.int(4);
        for (let j = 0; j < shares; j++)
          emit(ts + 600 + rng.next() * (end - ts), u.user, s, source, 'share-access', '', '5140');
      }
      emit(t + rng.next() * HOUR, u.user, dc, source, 'kerberos-service-ticket', 'http/intranet', '4769');
      const nProc = 5 + rng.int(12);
      for (let j = 0; j < nProc; j++) {
        emit(
          t + rng.next() * (end - t),
          u.user,
          u.workstation,
          source,
          'process',
          procs[rng.int(procs.length)],
          '4688',
        );
      }
      if (u.admin && rng.next() < 0.3) {
        const s = servers[rng.int(servers.length)];
        emit(t + rng.next() * (end - t), u.user, u.workstation, source, 'explicit-credentials', s, '4648');
      }
      const lunch = begin + (3.5 + rng.next()) * HOUR;
      if (lunch < end) emit(lunch, u.user, u.workstation, source, 'logon', '7', '4624');
      emit(end, u.user, u.workstation, source, 'logoff', '', '4634');
    }
  }

  // Machine accounts: each workstation authenticates to the DC every ~2 hours, day and night.
  for (const u of users) {
    for (let t = start + rng.next() * 2 * HOUR; t < start + days * DAY; t += (1.5 + rng.next()) * HOUR) {
      emit(t, `${u.workstation}$`, dc, u.ip, 'logon', '3', '4624', 'success', true);
    }
  }
  // Service accounts: nightly jobs on every server at ~02:00.
  for (let a = 0; a < (options.serviceAccounts ?? 2); a++) {
    const name = `svc_backup${a + 1}`;
    for (let d = 0; d < days; d++) {
      let t = start + d * DAY + (2 + a + 0.2 * rng.normal()) * HOUR;
      for (const s of servers) {
        emit(t, name, s, '10.0.0.5', 'logon', '5', '4624');
        emit(t + 50, name, s, '10.0.0.5', 'privilege-use', '', '4672');
        t += 60_000 + rng.next() * 60_000;
      }
    }
  }
  events.sort((a, b) => a.time - b.time);
  return { events, users, servers, dc, domain, start, days };
}
