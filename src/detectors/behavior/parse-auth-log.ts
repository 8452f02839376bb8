/**
 * Linux auth.log (syslog) lines into BehaviorEvent: sshd logons and failures, sudo commands and
 * failures, su, console login and PAM session open/close. Classic BSD syslog stamps
 * ('Mar  3 10:15:01') carry no year: the parser takes one (`year`) and moves to the next year
 * when the month jumps back by more than six (Dec → Jan); RFC 3339 stamps from rsyslog's
 * high-precision format ('2024-03-03T10:15:01.123+01:00') are read as they are. Other programs'
 * lines (cron, systemd-logind, kernel) are 'ignored'; lines that are not syslog are 'malformed'.
 * Identical lines dedupe (the record id is a hash of the line, syslog has no record numbers).
 */
import type { BehaviorAction, BehaviorEvent, BehaviorOutcome } from './event.js';
import {
  ignored,
  isMachineAccount,
  lineId,
  malformed,
  normaliseHost,
  normaliseSource,
  type ParseOutcome,
  parseIsoTime,
} from './parse-common.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const BSD_HEADER = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s+(\S+)\s+(.*)$/;
const ISO_HEADER = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(\S+)\s+(.*)$/;
const PROGRAM = /^([\w./-]+)(?:\[(\d+)\])?:\s?(.*)$/;

/** True when `line` starts like a syslog record (used for format detection). */
export function looksLikeSyslog(line: string): boolean {
  return BSD_HEADER.test(line) || ISO_HEADER.test(line);
}

export interface AuthLogOptions {
  /** Year of the first line with a BSD (yearless) stamp. */
  year: number;
}

/** Carries the year across lines of one file (Dec → Jan rollover). */
export class AuthLogParser {
  private year: number;
  private lastMonth = -1;

  constructor(options: AuthLogOptions) {
    this.year = options.year;
  }

  /** One line; never throws. `host` and `time` come from the syslog header. */
  parse(line: string): ParseOutcome {
    const header = this.header(line);
    if (!header) return malformed('not a syslog line (no "Mon dd hh:mm:ss host" or RFC 3339 header)');
    const program = PROGRAM.exec(header.rest);
    if (!program) return ignored('syslog line without a program tag');
    const name = (program[1] as string).toLowerCase();
    const message = program[3] as string;
    const matched = matchMessage(name, message);
    if (!matched) return ignored(`${name}: message not modelled`);
    if (!matched.user) return malformed(`${name}: no user name`);
    const event: BehaviorEvent = {
      time: header.time,
      user: matched.user.toLowerCase(),
      domain: '',
      host: normaliseHost(header.host),
      source: normaliseSource(matched.source ?? ''),
      action: matched.action,
      outcome: matched.outcome,
      detail: matched.detail,
      machineAccount: isMachineAccount(matched.user),
      recordId: lineId('auth', line),
      sourceFormat: 'auth-log',
      rawType: `${name}:${matched.rawType}`,
    };
    return { kind: 'event', event };
  }

  private header(line: string): { time: number; host: string; rest: string } | undefined {
    const iso = ISO_HEADER.exec(line);
    if (iso) {
      const time = parseIsoTime(iso[1] as string);
      return Number.isFinite(time) ? { time, host: iso[2] as string, rest: iso[3] as string } : undefined;
    }
    const m = BSD_HEADER.exec(line);
    if (!m) return undefined;
    const month = MONTHS.indexOf((m[1] as string).toLowerCase());
    const day = Number(m[2]);
    if (month < 0 || day < 1 || day > 31) return undefined;
    // A month far earlier than the previous line's is the next year (Dec → Jan); small steps
    // back (a late line from last month) are not.
    if (this.lastMonth >= 0 && month < this.lastMonth - 6) this.year += 1;
    this.lastMonth = month;
    const ms = m[6] ? Math.round(Number(`0.${m[6]}`) * 1000) : 0;
    const time = Date.UTC(this.year, month, day, Number(m[3]), Number(m[4]), Number(m[5])) + ms;
    return { time, host: m[7] as string, rest: m[8] as string };
  }
}

interface Matched {
  user: string;
  action: BehaviorAction;
  outcome: BehaviorOutcome;
  detail: string;
  source?: string;
  rawType: string;
}

const SSH_ACCEPTED = /^Accepted (\S+) for (\S+) from (\S+) port \d+/;
const SSH_FAILED = /^Failed (\S+) for (invalid user )?(\S+) from (\S+) port \d+/;
const SSH_INVALID = /^Invalid user (\S*) from (\S+)(?: port \d+)?/;
const SESSION =
  /^pam_unix\(([\w-]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=\d+\))?(?: by ([^\s(]*))?/;
const PAM_AUTH_FAIL =
  /^pam_unix\(([\w-]+):auth\): authentication failure;.*?\bruser=(\S*).*?\brhost=(\S*)\s+user=(\S+)/;
const SUDO = /^\s*(\S+) : (?:(.*?) ; )?TTY=\S+ ; PWD=\S+ ; USER=(\S+) ;(?: [A-Z]+=\S+ ;)* COMMAND=(.*)$/;
const SU_OK = /^(?:Successful su for (\S+) by (\S+)|\(to (\S+)\) (\S+) on \S+)/;
const SU_FAIL = /^FAILED SU \(to (\S+)\) (\S+) on \S+/;
const LOGIN_FAIL = /^FAILED LOGIN \(\d+\) on '?[^']*'? (?:FROM '?([^']*)'? )?FOR '?([^',]+)'?/;

function sshd(message: string): Matched | undefined {
  let m = SSH_ACCEPTED.exec(message);
  if (m)
    return {
      user: m[2] as string,
      action: 'logon',
      outcome: 'success',
      detail: m[1] as string,
      source: m[3],
      rawType: 'accepted',
    };
  m = SSH_FAILED.exec(message);
  if (m) {
    const invalid = Boolean(m[2]);
    return {
      user: m[3] as string,
      action: 'logon-failure',
      outcome: 'failure',
      detail: invalid ? `${m[1]} invalid-user` : (m[1] as string),
      source: m[4],
      rawType: 'failed',
    };
  }
  m = SSH_INVALID.exec(message);
  // The connection-level notice; each password attempt also logs "Failed … for invalid user",
  // which is the one counted as a failed logon.
  if (m)
    return {
      user: m[1] as string,
      action: 'other',
      outcome: 'failure',
      detail: 'invalid-user',
      source: m[2],
      rawType: 'invalid-user',
    };
  return session(message, 'sshd');
}

function session(message: string, program: string): Matched | undefined {
  const m = SESSION.exec(message);
  if (!m) return undefined;
  const service = m[1] as string;
  const opened = m[2] === 'opened';
  const target = m[3] as string;
  const by = m[4] ?? '';
  if (service === 'su' || service === 'su-l' || service === 'sudo' || service === 'sudo-i') {
    // The user who switched (by) is the actor; the target account goes to detail. Only the
    // opening is an event: closing a su session says nothing new.
    if (!opened) return undefined;
    return {
      user: by || target,
      action: 'privilege-use',
      outcome: 'success',
      detail: `${service} ${target}`,
      rawType: `session-opened`,
    };
  }
  if (service === 'sshd' || service === 'login' || program === 'login') {
    if (!opened)
      return { user: target, action: 'logoff', outcome: 'success', detail: service, rawType: 'session-closed' };
    // sshd's "Accepted" line is the logon; the PAM session line only repeats it.
    if (service === 'sshd')
      return { user: target, action: 'other', outcome: 'success', detail: 'session-opened', rawType: 'session-opened' };
    return { user: target, action: 'logon', outcome: 'success', detail: 'console', rawType: 'session-opened' };
  }
  return undefined;
}

function sudo(message: string): Matched | undefined {
  const m = SUDO.exec(message);
  if (m) {
    const problem = m[2] ?? '';
    const command = (m[4] as string).trim();
    if (problem) {
      return {
        user: m[1] as string,
        action: 'privilege-use',
        outcome: 'failure',
        detail: `sudo ${problem}: ${command}`,
        rawType: 'denied',
      };
    }
    return {
      user: m[1] as string,
      action: 'process',
      outcome: 'success',
      detail: `sudo(${m[3]}) ${command}`,
      rawType: 'command',
    };
  }
  return pamAuthFailure(message) ?? session(message, 'sudo');
}

function pamAuthFailure(message: string): Matched | undefined {
  const m = PAM_AUTH_FAIL.exec(message);
  if (!m) return undefined;
  const service = m[1] as string;
  const ruser = m[2] as string;
  const target = m[4] as string;
  if (service === 'sshd' || service === 'login') {
    // sshd logs its own "Failed password" line for the same attempt.
    return service === 'login'
      ? {
          user: target,
          action: 'logon-failure',
          outcome: 'failure',
          detail: 'console',
          source: m[3],
          rawType: 'auth-failure',
        }
      : undefined;
  }
  return {
    user: ruser || target,
    action: 'privilege-use',
    outcome: 'failure',
    detail: `${service} ${target}`,
    source: m[3],
    rawType: 'auth-failure',
  };
}

function su(message: string): Matched | undefined {
  let m = SU_FAIL.exec(message);
  if (m)
    return {
      user: m[2] as string,
      action: 'privilege-use',
      outcome: 'failure',
      detail: `su ${m[1]}`,
      rawType: 'failed',
    };
  m = SU_OK.exec(message);
  if (m) {
    // "(to root) alice on pts/0" repeats the PAM session line; keep only the PAM one.
    if (m[3]) return undefined;
    return {
      user: m[2] as string,
      action: 'privilege-use',
      outcome: 'success',
      detail: `su ${m[1]}`,
      rawType: 'success',
    };
  }
  return pamAuthFailure(message) ?? session(message, 'su');
}

function login(message: string): Matched | undefined {
  const m = LOGIN_FAIL.exec(message);
  if (m)
    return {
      user: m[2] as string,
      action: 'logon-failure',
      outcome: 'failure',
      detail: 'console',
      source: m[1],
      rawType: 'failed',
    };
  return pamAuthFailure(message) ?? session(message, 'login');
}

function matchMessage(program: string, message: string): Matched | undefined {
  if (program === 'sshd' || program === 'sshd-session') return sshd(message);
  if (program === 'sudo') return sudo(message);
  if (program === 'su') return su(message);
  if (program === 'login') return login(message);
  return undefined;
}

/** Parses whole text (tests, small inputs); the streaming path is read-events.ts. */
export function parseAuthLogLines(lines: Iterable<string>, options: AuthLogOptions): ParseOutcome[] {
  const parser = new AuthLogParser(options);
  const out: ParseOutcome[] = [];
  for (const line of lines) if (line.trim() !== '') out.push(parser.parse(line));
  return out;
}
