/**
 * Per-user and peer-group behaviour baselines, built online one BehaviorEvent at a time.
 *
 * A profile holds what the rarity scorer (uba-detector.ts) needs and nothing more:
 *  - hour-of-day (24) and weekday (7) histograms of activity,
 *  - capped counters of hosts, sources, processes, Kerberos services, logon types and actions,
 *  - an exponentially weighted event rate on two time scales (short: the last minutes; long: the
 *    last day) — the continuous-time form of an EWMA of events per bucket, so no bucket clock is needed,
 *  - the times of recent failed logons and recent service-ticket requests (bounded rings).
 *
 * Memory is bounded per user: every categorical counter keeps at most `categoryCap` values (64 by
 * default); when a new value arrives at a full counter the least-counted value is dropped (ties: the
 * oldest) and counted in `evicted`, so a long-lived user's rarely used values may later look new again
 * (that errs towards alarming, never towards silence on a truly new value). Rings keep `recentCap` items.
 *
 * Sources: for password spraying, each source address keeps a ring of its recent failed logons
 * (time, account) and the accounts that later logged on successfully from it; at most `maxSources`
 * sources are tracked (the least recently active forgotten first).
 *
 * Peer groups: a user's group comes from `peerGroups` (user → group) when given, else `peerGroupOf`,
 * else the user's domain (all users of one domain form one group; '' → '(no domain)'). A group has one
 * profile of the same shape (larger cap) fed with every member's events.
 */
import type { BehaviorAction, BehaviorEvent } from './event.js';

/** Counts of string values, at most `cap` of them. */
export class CappedCounter {
  readonly counts = new Map<string, number>();
  /** Events counted (including those whose values were later evicted). */
  total = 0;
  /** Distinct values dropped to respect the cap. */
  evicted = 0;

  constructor(readonly cap: number) {}

  get(value: string): number {
    return this.counts.get(value) ?? 0;
  }

  /** Distinct values ever seen (approximate once values were evicted and came back). */
  get distinct(): number {
    return this.counts.size + this.evicted;
  }

  add(value: string): void {
    this.total++;
    const c = this.counts.get(value);
    if (c !== undefined) {
      this.counts.set(value, c + 1);
      return;
    }
    if (this.counts.size >= this.cap) this.evictLeast();
    this.counts.set(value, 1);
  }

  /** Plain data for saving (v8-serialisable). */
  toPlain(): PlainCounter {
    return { cap: this.cap, counts: this.counts, total: this.total, evicted: this.evicted };
  }

  static fromPlain(p: PlainCounter): CappedCounter {
    const c = new CappedCounter(p.cap);
    for (const [v, n] of p.counts) c.counts.set(v, n);
    c.total = p.total;
    c.evicted = p.evicted;
    return c;
  }

  private evictLeast(): void {
    let worst: string | undefined;
    let worstCount = Number.POSITIVE_INFINITY;
    for (const [v, c] of this.counts) {
      if (c < worstCount) {
        worst = v;
        worstCount = c;
        if (c === 1) break; // Map order is insertion order: the oldest singleton
      }
    }
    if (worst !== undefined) {
      this.counts.delete(worst);
      this.evicted++;
    }
  }
}

export interface PlainCounter {
  cap: number;
  counts: Map<string, number>;
  total: number;
  evicted: number;
}

const COUNTER_FIELDS = ['hosts', 'sources', 'processes', 'services', 'logonTypes', 'actions'] as const;

/** A profile as plain data: its counters as PlainCounter. */
export type PlainProfile = Omit<Profile, (typeof COUNTER_FIELDS)[number]> &
  Record<(typeof COUNTER_FIELDS)[number], PlainCounter>;

/** Everything BehaviorBaselines learned, as plain data (for the store: `aegis uba ingest` continues from it). */
export interface BaselineState {
  users: [string, PlainProfile][];
  peers: [string, PlainProfile][];
  groupOfUser: [string, string][];
  sources: [string, SourceState][];
}

function plainProfile(p: Profile): PlainProfile {
  const out = { ...p } as unknown as PlainProfile;
  for (const f of COUNTER_FIELDS) out[f] = p[f].toPlain();
  return out;
}

function profileFromPlain(p: PlainProfile): Profile {
  const out = { ...p } as unknown as Profile;
  for (const f of COUNTER_FIELDS) out[f] = CappedCounter.fromPlain(p[f]);
  return out;
}

export interface Profile {
  /** Events learned. */
  events: number;
  firstSeen: number;
  lastSeen: number;
  /** Last non-empty domain seen for this user. */
  domain: string;
  machineAccount: boolean;
  hours: number[];
  weekdays: number[];
  hosts: CappedCounter;
  sources: CappedCounter;
  processes: CappedCounter;
  services: CappedCounter;
  logonTypes: CappedCounter;
  actions: CappedCounter;
  /** Exponentially decayed event counts (short and long half-life) as of `rateTime`. */
  shortCount: number;
  longCount: number;
  rateTime: number;
  /** Times of recent failed logons, oldest first. */
  recentFailures: number[];
  /** Recent service-ticket requests for services new to the user, oldest first. */
  recentNewTickets: { time: number; service: string }[];
}

export interface BaselineOptions {
  /** Values kept per categorical counter of a user (default 64). */
  categoryCap?: number;
  /** Values kept per categorical counter of a peer group (default 4096). */
  peerCategoryCap?: number;
  /** Explicit user → peer group mapping (user names lower case). */
  peerGroups?: ReadonlyMap<string, string>;
  /** Peer group of a user when `peerGroups` does not list it (default: the domain). */
  peerGroupOf?: (user: string, domain: string) => string;
  /** Local time offset for hour/weekday histograms, in minutes east of UTC (default 0). */
  utcOffsetMinutes?: number;
  /** Half-life of the short-term event rate (default 5 minutes). */
  shortHalfLifeMs?: number;
  /** Half-life of the long-term event rate (default 1 day). */
  longHalfLifeMs?: number;
  /** Items kept in each recent-event ring (default 64). */
  recentCap?: number;
  /** Source addresses whose recent failures are tracked (default 10 000). */
  maxSources?: number;
}

/** Recent failed logons from one source, and who logged on successfully from it since. */
export interface SourceState {
  failures: { time: number; user: string }[];
  /** user → time of its latest successful logon from this source. */
  successes: Map<string, number>;
}

export interface ResolvedBaselineOptions {
  categoryCap: number;
  peerCategoryCap: number;
  utcOffsetMs: number;
  shortHalfLifeMs: number;
  longHalfLifeMs: number;
  recentCap: number;
  maxSources: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Hour of day 0..23 at the given offset. */
export function hourOf(time: number, offsetMs = 0): number {
  const h = Math.floor((time + offsetMs) / HOUR) % 24;
  return h < 0 ? h + 24 : h;
}

/** Weekday 0 = Sunday .. 6 = Saturday at the given offset (1970-01-01 was a Thursday). */
export function weekdayOf(time: number, offsetMs = 0): number {
  const d = (Math.floor((time + offsetMs) / DAY) + 4) % 7;
  return d < 0 ? d + 7 : d;
}

/** x decayed over dt with the given half-life (dt < 0, i.e. out of order, does not grow it). */
export function decay(x: number, dt: number, halfLife: number): number {
  return dt <= 0 ? x : x * 2 ** (-dt / halfLife);
}

/** Actions that start or attempt a session: the ones whose time of day and logon type are modelled. */
export const SESSION_ACTIONS: ReadonlySet<BehaviorAction> = new Set<BehaviorAction>([
  'logon',
  'logon-failure',
  'explicit-credentials',
  'kerberos-tgt',
]);

export function newProfile(cap: number, time: number): Profile {
  return {
    events: 0,
    firstSeen: time,
    lastSeen: time,
    domain: '',
    machineAccount: false,
    hours: new Array<number>(24).fill(0),
    weekdays: new Array<number>(7).fill(0),
    hosts: new CappedCounter(cap),
    sources: new CappedCounter(cap),
    processes: new CappedCounter(cap),
    services: new CappedCounter(cap),
    logonTypes: new CappedCounter(cap),
    actions: new CappedCounter(cap),
    shortCount: 0,
    longCount: 0,
    rateTime: time,
    recentFailures: [],
    recentNewTickets: [],
  };
}

function pushCapped<T>(ring: T[], item: T, cap: number): void {
  ring.push(item);
  if (ring.length > cap) ring.splice(0, ring.length - cap);
}

/** Updates one profile with one event. */
export function learnInto(p: Profile, e: BehaviorEvent, o: ResolvedBaselineOptions): void {
  if (p.events === 0) {
    p.firstSeen = e.time;
    p.rateTime = e.time;
  }
  p.events++;
  p.firstSeen = Math.min(p.firstSeen, e.time);
  p.lastSeen = Math.max(p.lastSeen, e.time);
  if (e.domain) p.domain = e.domain;
  p.machineAccount = e.machineAccount;
  p.actions.add(e.action);
  if (e.action === 'logoff' || e.action === 'other') return;
  if (SESSION_ACTIONS.has(e.action)) {
    p.hours[hourOf(e.time, o.utcOffsetMs)]++;
    p.weekdays[weekdayOf(e.time, o.utcOffsetMs)]++;
  }
  if (e.host) p.hosts.add(e.host);
  if (e.source) p.sources.add(e.source);
  if (e.action === 'process' && e.detail) p.processes.add(e.detail);
  if ((e.action === 'logon' || e.action === 'logon-failure') && e.detail) p.logonTypes.add(e.detail);
  if (e.action === 'kerberos-service-ticket' && e.detail) {
    if (p.services.get(e.detail) === 0)
      pushCapped(p.recentNewTickets, { time: e.time, service: e.detail }, o.recentCap);
    p.services.add(e.detail);
  }
  if (e.outcome === 'failure' || e.action === 'logon-failure') pushCapped(p.recentFailures, e.time, o.recentCap);
  const dt = e.time - p.rateTime;
  p.shortCount = decay(p.shortCount, dt, o.shortHalfLifeMs) + 1;
  p.longCount = decay(p.longCount, dt, o.longHalfLifeMs) + 1;
  if (dt > 0) p.rateTime = e.time;
}

/** All users' and peer groups' profiles. */
export class BehaviorBaselines {
  readonly options: ResolvedBaselineOptions;
  readonly users = new Map<string, Profile>();
  readonly peers = new Map<string, Profile>();
  private readonly peerGroups?: ReadonlyMap<string, string>;
  private readonly peerGroupOfFn?: (user: string, domain: string) => string;
  /** user → group as first resolved (a user keeps its group). */
  private readonly groupOfUser = new Map<string, string>();
  /** Per source address: recent failures and later successes (insertion order = least recently active first). */
  readonly sources = new Map<string, SourceState>();

  constructor(options: BaselineOptions = {}) {
    this.options = {
      categoryCap: options.categoryCap ?? 64,
      peerCategoryCap: options.peerCategoryCap ?? 4096,
      utcOffsetMs: (options.utcOffsetMinutes ?? 0) * 60_000,
      shortHalfLifeMs: options.shortHalfLifeMs ?? 5 * 60_000,
      longHalfLifeMs: options.longHalfLifeMs ?? DAY,
      recentCap: options.recentCap ?? 64,
      maxSources: options.maxSources ?? 10_000,
    };
    this.peerGroups = options.peerGroups;
    this.peerGroupOfFn = options.peerGroupOf;
  }

  /** The peer group of an event's user. */
  groupOf(e: Pick<BehaviorEvent, 'user' | 'domain'>): string {
    const known = this.groupOfUser.get(e.user);
    if (known !== undefined) return known;
    const mapped = this.peerGroups?.get(e.user);
    if (mapped !== undefined) return mapped;
    if (this.peerGroupOfFn) return this.peerGroupOfFn(e.user, e.domain);
    return (e.domain || '(no domain)').split('.')[0];
  }

  user(user: string): Profile | undefined {
    return this.users.get(user);
  }

  peer(group: string): Profile | undefined {
    return this.peers.get(group);
  }

  learn(e: BehaviorEvent): void {
    let u = this.users.get(e.user);
    if (!u) {
      u = newProfile(this.options.categoryCap, e.time);
      this.users.set(e.user, u);
    }
    const group = this.groupOf(e);
    if (!this.groupOfUser.has(e.user)) this.groupOfUser.set(e.user, group);
    let g = this.peers.get(group);
    if (!g) {
      g = newProfile(this.options.peerCategoryCap, e.time);
      this.peers.set(group, g);
    }
    learnInto(u, e, this.options);
    learnInto(g, e, this.options);
    this.learnSource(e);
  }

  exportState(): BaselineState {
    return {
      users: [...this.users].map(([k, p]) => [k, plainProfile(p)]),
      peers: [...this.peers].map(([k, p]) => [k, plainProfile(p)]),
      groupOfUser: [...this.groupOfUser],
      sources: [...this.sources],
    };
  }

  /** Replaces what was learned with a saved state (options stay this instance's). */
  importState(state: BaselineState): void {
    this.users.clear();
    this.peers.clear();
    this.groupOfUser.clear();
    this.sources.clear();
    for (const [k, p] of state.users) this.users.set(k, profileFromPlain(p));
    for (const [k, p] of state.peers) this.peers.set(k, profileFromPlain(p));
    for (const [u, g] of state.groupOfUser) this.groupOfUser.set(u, g);
    for (const [k, v] of state.sources) this.sources.set(k, v);
  }

  source(source: string): SourceState | undefined {
    return this.sources.get(source);
  }

  private learnSource(e: BehaviorEvent): void {
    if (!e.source) return;
    const failure = e.outcome === 'failure' || e.action === 'logon-failure';
    const success = !failure && (e.action === 'logon' || e.action === 'explicit-credentials');
    let s = this.sources.get(e.source);
    if (!s) {
      if (!failure) return; // only sources that failed are worth remembering
      s = { failures: [], successes: new Map() };
    } else this.sources.delete(e.source); // re-insert: most recently active last
    this.sources.set(e.source, s);
    if (this.sources.size > this.options.maxSources) this.sources.delete(this.sources.keys().next().value as string);
    if (failure) pushCapped(s.failures, { time: e.time, user: e.user }, this.options.recentCap);
    if (success) {
      s.successes.delete(e.user);
      s.successes.set(e.user, e.time);
      if (s.successes.size > this.options.recentCap) s.successes.delete(s.successes.keys().next().value as string);
    }
  }
}
