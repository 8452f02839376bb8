import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BehaviorEvent } from '../../../src/detectors/behavior/event.js';
import { AuthLogParser, parseAuthLogLines } from '../../../src/detectors/behavior/parse-auth-log.js';
import type { ParseOutcome } from '../../../src/detectors/behavior/parse-common.js';

function only(line: string, year = 2024): ParseOutcome {
  return new AuthLogParser({ year }).parse(line);
}

function event(outcome: ParseOutcome): BehaviorEvent {
  assert.equal(outcome.kind, 'event', `expected an event, got ${JSON.stringify(outcome)}`);
  return (outcome as { event: BehaviorEvent }).event;
}

describe('AuthLogParser: sshd', () => {
  it('reads an accepted password logon: user, host, source IP, method, UTC time in the given year', () => {
    const e = event(
      only('Mar  3 10:15:01 bastion sshd[1234]: Accepted password for Alice from 10.0.0.5 port 51234 ssh2'),
    );
    assert.deepEqual(
      [e.user, e.host, e.source, e.action, e.outcome, e.detail, e.rawType, e.sourceFormat],
      ['alice', 'bastion', '10.0.0.5', 'logon', 'success', 'password', 'sshd:accepted', 'auth-log'],
    );
    assert.equal(new Date(e.time).toISOString(), '2024-03-03T10:15:01.000Z');
  });

  it('reads publickey logons, failed passwords and failures for invalid users', () => {
    const pk = event(
      only('Mar  3 10:15:01 bastion sshd[1]: Accepted publickey for bob from 10.0.0.6 port 50000 ssh2: RSA SHA256:abc'),
    );
    assert.deepEqual([pk.user, pk.detail], ['bob', 'publickey']);
    const bad = event(
      only('Mar  3 10:16:00 bastion sshd[2]: Failed password for root from 203.0.113.9 port 4242 ssh2'),
    );
    assert.deepEqual(
      [bad.user, bad.action, bad.outcome, bad.source],
      ['root', 'logon-failure', 'failure', '203.0.113.9'],
    );
    const invalid = event(
      only('Mar  3 10:16:01 bastion sshd[2]: Failed password for invalid user oracle from 203.0.113.9 port 4243 ssh2'),
    );
    assert.deepEqual(
      [invalid.user, invalid.action, invalid.detail],
      ['oracle', 'logon-failure', 'password invalid-user'],
    );
  });

  it('keeps the "Invalid user" notice as a non-logon failure (the Failed line is the counted attempt)', () => {
    const e = event(only('Mar  3 10:16:00 bastion sshd[2]: Invalid user oracle from 203.0.113.9 port 4243'));
    assert.deepEqual([e.user, e.action, e.outcome, e.detail], ['oracle', 'other', 'failure', 'invalid-user']);
  });

  it('maps PAM session close to logoff and session open to a non-logon record', () => {
    const closed = event(
      only('Mar  3 11:00:00 bastion sshd[9]: pam_unix(sshd:session): session closed for user alice'),
    );
    assert.equal(closed.action, 'logoff');
    const opened = event(
      only(
        'Mar  3 10:15:01 bastion sshd[9]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)',
      ),
    );
    assert.deepEqual([opened.user, opened.action], ['alice', 'other']);
  });
});

describe('AuthLogParser: sudo, su, login', () => {
  it('reads sudo commands as processes and sudo refusals as failed privilege use', () => {
    const cmd = event(
      only(
        'Mar  3 10:20:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update',
      ),
    );
    assert.deepEqual(
      [cmd.user, cmd.action, cmd.outcome, cmd.detail],
      ['alice', 'process', 'success', 'sudo(root) /usr/bin/apt update'],
    );
    const denied = event(
      only(
        'Mar  3 10:21:00 web1 sudo:   mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash',
      ),
    );
    assert.deepEqual([denied.user, denied.action, denied.outcome], ['mallory', 'privilege-use', 'failure']);
    const wrong = event(
      only(
        'Mar  3 10:22:00 web1 sudo:   mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh',
      ),
    );
    assert.deepEqual([wrong.action, wrong.outcome], ['privilege-use', 'failure']);
    const pam = event(
      only(
        'Mar  3 10:22:00 web1 sudo: pam_unix(sudo:auth): authentication failure; logname=mallory uid=1001 euid=0 tty=/dev/pts/1 ruser=mallory rhost=  user=mallory',
      ),
    );
    assert.deepEqual([pam.user, pam.action, pam.outcome], ['mallory', 'privilege-use', 'failure']);
  });

  it('attributes su to the user who switched, not the target', () => {
    const ok = event(
      only('Mar  3 10:30:00 web1 su[77]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)'),
    );
    assert.deepEqual([ok.user, ok.action, ok.outcome, ok.detail], ['alice', 'privilege-use', 'success', 'su root']);
    const bad = event(only('Mar  3 10:31:00 web1 su[78]: FAILED SU (to root) mallory on pts/2'));
    assert.deepEqual([bad.user, bad.action, bad.outcome], ['mallory', 'privilege-use', 'failure']);
  });

  it('reads console login failures', () => {
    const e = event(
      only("Mar  3 10:40:00 web1 login[500]: FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure"),
    );
    assert.deepEqual([e.user, e.action, e.outcome, e.detail], ['bob', 'logon-failure', 'failure', 'console']);
  });

  it('ignores other programs and unmodelled messages; malformed when not syslog at all', () => {
    assert.equal(
      only('Mar  3 10:17:01 web1 CRON[100]: pam_unix(cron:session): session opened for user root by (uid=0)').kind,
      'ignored',
    );
    assert.equal(only('Mar  3 10:17:01 web1 systemd-logind[1]: New session 3 of user alice.').kind, 'ignored');
    assert.equal(
      only('Mar  3 10:17:01 web1 sshd[1]: Received disconnect from 1.2.3.4 port 22:11: bye').kind,
      'ignored',
    );
    assert.equal(only('this is not syslog').kind, 'malformed');
    assert.equal(
      only('Foo  3 10:17:01 web1 sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2').kind,
      'malformed',
    );
  });
});

describe('AuthLogParser: time', () => {
  it('moves to the next year when the month jumps back from December to January', () => {
    const out = parseAuthLogLines(
      [
        'Dec 31 23:59:58 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2',
        'Jan  1 00:00:03 h sshd[1]: Accepted password for a from 10.0.0.1 port 2 ssh2',
        'Jan  2 08:00:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 3 ssh2',
      ],
      { year: 2023 },
    );
    const times = out.map((o) => new Date(event(o).time).toISOString());
    assert.deepEqual(times, ['2023-12-31T23:59:58.000Z', '2024-01-01T00:00:03.000Z', '2024-01-02T08:00:00.000Z']);
  });

  it('does not change year for a line one month late (Apr after May)', () => {
    const out = parseAuthLogLines(
      [
        'May  1 00:00:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2',
        'Apr 30 23:59:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 2 ssh2',
      ],
      { year: 2024 },
    );
    assert.equal(new Date(event(out[1] as ParseOutcome).time).getUTCFullYear(), 2024);
  });

  it('reads RFC 3339 stamps (rsyslog high precision) with their zone and no year guess', () => {
    const e = event(
      only(
        '2024-03-03T10:15:01.250+01:00 bastion sshd[1]: Accepted password for alice from 10.0.0.5 port 1 ssh2',
        1999,
      ),
    );
    assert.equal(new Date(e.time).toISOString(), '2024-03-03T09:15:01.250Z');
  });

  it('gives identical lines the same record id and different lines different ones', () => {
    const line = 'Mar  3 10:16:00 bastion sshd[2]: Failed password for root from 203.0.113.9 port 4242 ssh2';
    assert.equal(event(only(line)).recordId, event(only(line)).recordId);
    assert.notEqual(event(only(line)).recordId, event(only(line.replace('4242', '4243'))).recordId);
  });
});
