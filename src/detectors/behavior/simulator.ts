/**
 * Plants labelled compromised-account behaviour into a benign event stream (seeded), so UBA can be
 * measured where the truth is known: pick victim users, and from a start time inject what an attacker
 * does in their name — the behaviours the issue lists and ATT&CK describes:
 *  - 'new-source-logon'   valid-account logon from an address the victim never used (T1078), often at night;
 *  - 'brute-force'        several failed logons then a success (T1110);
 *  - 'password-spray'     from one new address, one failed logon against each of several other accounts,
 *                         then a successful logon as the victim (T1110.003);
 *  - 'explicit-credentials' 4648 runas / pass-the-hash style use of other credentials (T1550.002);
 *  - 'privilege-use'      4672 special privileges on a non-admin account (T1078.002);
 *  - 'kerberoasting'      a burst of 4769 service tickets for services the victim never used (T1558.003);
 *  - 'lateral-movement'   network logons and process starts on hosts the victim never visited (T1021).
 * Intensity sets how many techniques each victim gets and over how many episodes (days).
 * Victims, hosts, hours and counts come from the seeded Rng: same seed, same plant.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { BehaviorAction, BehaviorEvent, BehaviorOutcome } from './event.js';

export const TECHNIQUES = [
  'new-source-logon',
  'brute-force',
  'password-spray',
  'explicit-credentials',
  'privilege-use',
  'kerberoasting',
  'lateral-movement',
] as const;
export type Technique = (typeof TECHNIQUES)[number];

export type Intensity = 'low' | 'medium' | 'high';

export interface PlantOptions {
  seed?: number;
  /** How many victims (chosen among non-machine users with at least `minVictimEvents` events), or their names. */
  victims?: number | readonly string[];
  minVictimEvents?: number;
  /** Earliest compromise start as a share of the stream's time span (default 0.5: half the data is clean baseline). */
  startAfter?: number;
  /** Latest compromise start as a share of the span (default 0.8). */
  startBefore?: number;
  /** low: 2 techniques in 1 episode; medium: 3 in 2; high: all 7 in 3 (default medium). */
  intensity?: Intensity;
  /** Restrict to these techniques (default all). */
  techniques?: readonly Technique[];
  /** Probability that an episode happens at night (00–05 h) rather than in office hours (default 0.5). */
  nightShare?: number;
  /**
   * Probability that an episode runs from the victim's own usual address (malware on the victim's
   * machine) rather than from a new attacker address (default 0: always a new address).
   */
  ownSourceShare?: number;
}

export interface PlantedVictim {
  user: string;
  /** Time of the first planted event (ms). */
  start: number;
  techniques: Technique[];
  /** Every event planted for this compromise, including the spray's failed logons against other accounts. */
  recordIds: string[];
}

export interface PlantResult {
  /** Benign and planted events together, sorted by time. */
  events: BehaviorEvent[];
  victims: PlantedVictim[];
  /** recordIds of all planted events. */
  planted: Set<string>;
}

const HOUR = 3_600_000;
const INTENSITY: Record<Intensity, { techniques: number; episodes: number }> = {
  low: { techniques: 2, episodes: 1 },
  medium: { techniques: 3, episodes: 2 },
  high: { techniques: 7, episodes: 3 },
};

interface UserFacts {
  events: number;
  domain: string;
  machine: boolean;
  hosts: Set<string>;
  sources: Set<string>;
  homeHost: string;
  /** The user's most frequent source. */
  homeSource: string;
  privileged: boolean;
}

function factsOf(events: readonly BehaviorEvent[]): { users: Map<string, UserFacts>; hosts: string[]; dc: string } {
  const users = new Map<string, UserFacts>();
  const hostCounts = new Map<string, number>();
  const dcCounts = new Map<string, number>();
  const homeCounts = new Map<string, Map<string, number>>();
  const sourceCounts = new Map<string, Map<string, number>>();
  for (const e of events) {
    let f = users.get(e.user);
    if (!f) {
      f = {
        events: 0,
        domain: e.domain,
        machine: e.machineAccount,
        hosts: new Set(),
        sources: new Set(),
        homeHost: '',
        homeSource: '',
        privileged: false,
      };
      users.set(e.user, f);
      homeCounts.set(e.user, new Map());
      sourceCounts.set(e.user, new Map());
    }
    if (e.source) {
      const sc = sourceCounts.get(e.user) as Map<string, number>;
      sc.set(e.source, (sc.get(e.source) ?? 0) + 1);
    }
    f.events++;
    if (e.host) f.hosts.add(e.host);
    if (e.source) f.sources.add(e.source);
    if (e.action === 'privilege-use') f.privileged = true;
    if (e.host) hostCounts.set(e.host, (hostCounts.get(e.host) ?? 0) + 1);
    if (e.host && (e.action === 'kerberos-tgt' || e.action === 'kerberos-service-ticket')) {
      dcCounts.set(e.host, (dcCounts.get(e.host) ?? 0) + 1);
    }
    if (e.host && e.action === 'process') {
      const h = homeCounts.get(e.user) as Map<string, number>;
      h.set(e.host, (h.get(e.host) ?? 0) + 1);
    }
  }
  for (const [user, f] of users) {
    const h = [...(homeCounts.get(user) as Map<string, number>).entries()].sort((a, b) => b[1] - a[1]);
    f.homeHost = h[0]?.[0] ?? [...f.hosts][0] ?? '';
    const sc = [...(sourceCounts.get(user) as Map<string, number>).entries()].sort((a, b) => b[1] - a[1]);
    f.homeSource = sc[0]?.[0] ?? '';
  }
  const dc = [...dcCounts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'dc';
  return { users, hosts: [...hostCounts.keys()].sort(), dc };
}

/** Plants compromises into `benign` (not modified); returns the merged stream and the labels. */
export function plantCompromises(benign: readonly BehaviorEvent[], options: PlantOptions = {}): PlantResult {
  if (benign.length === 0) throw new AegisInputError('plantCompromises: the benign stream is empty');
  const rng = new Rng(options.seed ?? 1);
  const { users, hosts, dc } = factsOf(benign);
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const e of benign) {
    if (e.time < t0) t0 = e.time;
    if (e.time > t1) t1 = e.time;
  }
  const span = Math.max(1, t1 - t0);
  const minEvents = options.minVictimEvents ?? 20;
  let victimNames: string[];
  if (Array.isArray(options.victims)) {
    victimNames = [...(options.victims as readonly string[])];
    for (const v of victimNames)
      if (!users.has(v)) throw new AegisInputError(`plantCompromises: no user '${v}' in the stream`);
  } else {
    const eligible = [...users.entries()]
      .filter(([, f]) => !f.machine && f.events >= minEvents)
      .map(([u]) => u)
      .sort();
    const n = (options.victims as number | undefined) ?? 5;
    if (n > eligible.length) {
      throw new AegisInputError(
        `plantCompromises: ${n} victims asked, only ${eligible.length} users have ${minEvents}+ events`,
      );
    }
    rng.shuffle(eligible);
    victimNames = eligible.slice(0, n).sort();
  }
  const intensity = INTENSITY[options.intensity ?? 'medium'];
  const allowed = [...(options.techniques ?? TECHNIQUES)];
  const nightShare = options.nightShare ?? 0.5;
  const startAfter = options.startAfter ?? 0.5;
  const startBefore = Math.max(startAfter, options.startBefore ?? 0.8);
  const planted: BehaviorEvent[] = [];
  const victims: PlantedVictim[] = [];
  let seq = 0;

  for (const user of victimNames) {
    const f = users.get(user) as UserFacts;
    const chosen = rng.shuffle([...allowed]).slice(0, Math.min(intensity.techniques, allowed.length)) as Technique[];
    const attackerIp = `172.31.${rng.int(250)}.${1 + rng.int(250)}`;
    const ownSource = f.homeSource || attackerIp;
    let source = attackerIp;
    const strange = hosts.filter((h) => !f.hosts.has(h) && h !== dc);
    const ids: string[] = [];
    let first = Number.POSITIVE_INFINITY;
    const emit = (
      time: number,
      host: string,
      action: BehaviorAction,
      detail = '',
      rawType = '',
      outcome?: BehaviorOutcome,
    ) => {
      const e: BehaviorEvent = {
        time: Math.round(time),
        user,
        domain: f.domain,
        host,
        source,
        action,
        outcome: outcome ?? (action === 'logon-failure' ? 'failure' : 'success'),
        detail,
        machineAccount: false,
        recordId: `planted-${user}-${++seq}`,
        sourceFormat: 'simulated',
        rawType,
      };
      planted.push(e);
      ids.push(e.recordId);
      first = Math.min(first, e.time);
    };
    let day = t0 + (startAfter + rng.next() * (startBefore - startAfter)) * span;
    for (let ep = 0; ep < intensity.episodes; ep++) {
      // Each episode: on its day, at night or in office hours.
      const midnight = Math.floor(day / (24 * HOUR)) * 24 * HOUR;
      const hour = rng.next() < nightShare ? rng.uniform(0, 5) : rng.uniform(9, 17);
      let t = Math.max(midnight + hour * HOUR, ep === 0 ? day : midnight);
      if (ep > 0 && t > t1) break;
      const target = strange.length > 0 ? strange[rng.int(strange.length)] : f.homeHost;
      source = rng.next() < (options.ownSourceShare ?? 0) ? ownSource : attackerIp;
      for (const tech of chosen) {
        switch (tech) {
          case 'new-source-logon':
            emit(t, f.homeHost || target, 'logon', '3', '4624');
            t += 20_000;
            break;
          case 'brute-force': {
            const k = 5 + rng.int(8);
            for (let i = 0; i < k; i++) emit(t + i * 3_000, f.homeHost || target, 'logon-failure', '3', '4625');
            t += k * 3_000 + 2_000;
            emit(t, f.homeHost || target, 'logon', '3', '4624');
            t += 20_000;
            break;
          }
          case 'password-spray': {
            const others = [...users.keys()].filter((x) => x !== user && !(users.get(x) as UserFacts).machine);
            const k = Math.min(others.length, 5 + rng.int(10));
            rng.shuffle(others);
            for (let i = 0; i < k; i++) {
              const e = {
                time: Math.round(t + i * 2_000),
                user: others[i],
                domain: (users.get(others[i]) as UserFacts).domain,
                host: dc,
                source,
                action: 'logon-failure' as const,
                outcome: 'failure' as const,
                detail: '3',
                machineAccount: false,
                recordId: `planted-${user}-${++seq}`,
                sourceFormat: 'simulated',
                rawType: '4625',
              };
              planted.push(e);
              ids.push(e.recordId);
              first = Math.min(first, e.time);
            }
            t += k * 2_000 + 5_000;
            emit(t, f.homeHost || target, 'logon', '3', '4624');
            t += 20_000;
            break;
          }
          case 'explicit-credentials':
            emit(t, f.homeHost || target, 'explicit-credentials', target, '4648');
            t += 15_000;
            break;
          case 'privilege-use':
            emit(t, target, 'logon', '3', '4624');
            emit(t + 100, target, 'privilege-use', '', '4672');
            t += 20_000;
            break;
          case 'kerberoasting': {
            const k = 10 + rng.int(20);
            for (let i = 0; i < k; i++) {
              emit(
                t + i * 1_500,
                dc,
                'kerberos-service-ticket',
                `mssqlsvc/sql${String(rng.int(90) + 10)}.corp:1433`,
                '4769',
              );
            }
            t += k * 1_500 + 10_000;
            break;
          }
          case 'lateral-movement': {
            const hops = 2 + rng.int(3);
            for (let i = 0; i < hops; i++) {
              const h = strange.length > 0 ? strange[rng.int(strange.length)] : target;
              emit(t, h, 'logon', '3', '4624');
              emit(t + 2_000, h, 'process', 'c:\\windows\\psexesvc.exe', '4688');
              emit(t + 4_000, h, 'process', 'c:\\windows\\system32\\cmd.exe', '4688');
              t += 60_000 + rng.next() * 120_000;
            }
            break;
          }
        }
      }
      day = midnight + (1 + rng.int(2)) * 24 * HOUR;
    }
    victims.push({ user, start: first, techniques: chosen, recordIds: ids });
  }
  const events = [...benign, ...planted].sort((a, b) => a.time - b.time);
  return { events, victims, planted: new Set(planted.map((e) => e.recordId)) };
}
