import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BehaviorEvent } from '../../../src/detectors/behavior/event.js';
import type { ParseOutcome } from '../../../src/detectors/behavior/parse-common.js';
import { parseWindowsLine, parseWindowsRecord } from '../../../src/detectors/behavior/parse-windows.js';

function event(outcome: ParseOutcome): BehaviorEvent {
  assert.equal(outcome.kind, 'event', `expected an event, got ${JSON.stringify(outcome)}`);
  return (outcome as { event: BehaviorEvent }).event;
}

/** An OTRF / NXLog-style flattened record (host in US Eastern daylight time, UTC−4). */
function nxlog(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    '@timestamp': '2020-10-22T08:29:55.210Z',
    EventTime: '2020-10-22 04:29:53',
    EventReceivedTime: '2020-10-22 04:29:55',
    Channel: 'Security',
    Hostname: 'MORDORDC.theshire.local',
    host: 'wec.internal.cloudapp.net',
    RecordNumber: 537141,
    ...fields,
  };
}

describe('parseWindowsRecord: OTRF/NXLog flattened events', () => {
  it('maps a network logon (4624): target user, domain first label, source IP, logon type, UTC from EventTime + offset', () => {
    const e = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4624,
          TargetUserName: 'pgustavo',
          TargetDomainName: 'THESHIRE.LOCAL',
          SubjectUserName: '-',
          IpAddress: '172.18.39.5',
          WorkstationName: '-',
          LogonType: '3',
        }),
      ),
    );
    assert.equal(e.user, 'pgustavo');
    assert.equal(e.domain, 'theshire');
    assert.equal(e.host, 'mordordc', 'Hostname, not the collector in `host`');
    assert.equal(e.source, '172.18.39.5');
    assert.equal(e.action, 'logon');
    assert.equal(e.outcome, 'success');
    assert.equal(e.detail, '3');
    assert.equal(e.machineAccount, false);
    // EventTime 04:29:53 local; receipt 04:29:55 local = 08:29:55.210Z → offset 4 h → 08:29:53Z.
    assert.equal(new Date(e.time).toISOString(), '2020-10-22T08:29:53.000Z');
    assert.equal(e.recordId, 'win:mordordc:security:537141');
    assert.equal(e.rawType, '4624');
    assert.equal(e.sourceFormat, 'windows-json');
  });

  it('maps a failed logon (4625) with no IP to the workstation name, and lower-case channel "security"', () => {
    const e = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4625,
          Channel: 'security',
          TargetUserName: 'lrodriguez',
          TargetDomainName: 'theshire.local',
          IpAddress: '-',
          WorkstationName: 'WORKSTATION5',
          Status: '0xc000006d',
          LogonType: '2',
        }),
      ),
    );
    assert.deepEqual(
      [e.user, e.action, e.outcome, e.source],
      ['lrodriguez', 'logon-failure', 'failure', 'workstation5'],
    );
  });

  it('splits user@REALM in service tickets (4769), unwraps ::ffff: addresses, keeps the service name', () => {
    const e = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4769,
          TargetUserName: 'pgustavo@THESHIRE.LOCAL',
          ServiceName: 'MORDORSVC',
          IpAddress: '::ffff:172.18.39.5',
          Status: '0x0',
          TicketEncryptionType: '0x17',
        }),
      ),
    );
    assert.deepEqual(
      [e.user, e.domain, e.source, e.action, e.outcome, e.detail],
      ['pgustavo', 'theshire', '172.18.39.5', 'kerberos-service-ticket', 'success', 'mordorsvc'],
    );
  });

  it('treats a failing TGT request (4768) as a failure and 4771 / failing 4776 as failed logons', () => {
    const tgt = event(parseWindowsRecord(nxlog({ EventID: 4768, TargetUserName: 'bob', Status: '0x18' })));
    assert.deepEqual([tgt.action, tgt.outcome], ['kerberos-tgt', 'failure']);
    const pre = event(parseWindowsRecord(nxlog({ EventID: 4771, TargetUserName: 'bob', IpAddress: '10.0.0.9' })));
    assert.deepEqual([pre.action, pre.outcome, pre.source], ['logon-failure', 'failure', '10.0.0.9']);
    const ntlmBad = event(
      parseWindowsRecord(nxlog({ EventID: 4776, TargetUserName: 'bob', Workstation: 'WS5', Status: '0xc000006a' })),
    );
    assert.deepEqual([ntlmBad.action, ntlmBad.outcome, ntlmBad.source], ['logon-failure', 'failure', 'ws5']);
    const ntlmOk = event(parseWindowsRecord(nxlog({ EventID: 4776, TargetUserName: 'bob', Status: '0x0' })));
    assert.deepEqual(
      [ntlmOk.action, ntlmOk.outcome],
      ['other', 'success'],
      'a successful validation is not a second logon',
    );
  });

  it('maps 4672 to privilege use by the subject, 4688 to the process image, 4648 to the actor with the credentials in detail', () => {
    const priv = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4672,
          SubjectUserName: 'pgustavo',
          SubjectDomainName: 'THESHIRE',
          PrivilegeList: 'SeDebugPrivilege\r\n\t\t\tSeBackupPrivilege',
        }),
      ),
    );
    assert.deepEqual(
      [priv.user, priv.action, priv.detail],
      ['pgustavo', 'privilege-use', 'SeDebugPrivilege,SeBackupPrivilege'],
    );
    const proc = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4688,
          SubjectUserName: 'pgustavo',
          TargetUserName: '-',
          NewProcessName: 'C:\\Users\\pgustavo\\PurpleSharp.exe',
        }),
      ),
    );
    assert.deepEqual(
      [proc.user, proc.action, proc.detail],
      ['pgustavo', 'process', 'C:\\Users\\pgustavo\\PurpleSharp.exe'],
    );
    const explicit = event(
      parseWindowsRecord(
        nxlog({
          EventID: 4648,
          SubjectUserName: 'wardog',
          TargetUserName: 'Administrator',
          TargetDomainName: 'THESHIRE',
          TargetServerName: 'MORDORDC',
        }),
      ),
    );
    assert.deepEqual(
      [explicit.user, explicit.action, explicit.detail],
      ['wardog', 'explicit-credentials', 'administrator@theshire on mordordc'],
    );
  });

  it('maps share access (5140/5145), logoff (4634/4647) and account changes (47xx) with the changed account in detail', () => {
    const share = event(
      parseWindowsRecord(
        nxlog({ EventID: 5145, SubjectUserName: 'pgustavo', ShareName: '\\\\*\\IPC$', IpAddress: '172.18.39.5' }),
      ),
    );
    assert.deepEqual([share.action, share.detail], ['share-access', '\\\\*\\ipc$']);
    const off = event(parseWindowsRecord(nxlog({ EventID: 4647, TargetUserName: 'pgustavo' })));
    assert.equal(off.action, 'logoff');
    const change = event(
      parseWindowsRecord(nxlog({ EventID: 4724, SubjectUserName: 'admin01', TargetUserName: 'bob' })),
    );
    assert.deepEqual([change.user, change.action, change.detail], ['admin01', 'account-change', 'password-reset:bob']);
  });

  it('reads Sysmon 1 process creation with DOMAIN\\user and its own UtcTime', () => {
    const e = event(
      parseWindowsRecord({
        '@timestamp': '2020-10-22T08:29:53.801Z',
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        EventID: 1,
        Hostname: 'WORKSTATION5.theshire.local',
        User: 'THESHIRE\\pgustavo',
        Image: 'C:\\Users\\pgustavo\\Downloads\\PurpleSharp.exe',
        UtcTime: '2020-10-22 08:29:52.016',
        RecordNumber: 388000,
      }),
    );
    assert.deepEqual([e.user, e.domain, e.action, e.rawType], ['pgustavo', 'theshire', 'process', 'sysmon:1']);
    assert.equal(new Date(e.time).toISOString(), '2020-10-22T08:29:52.016Z');
    assert.equal(e.recordId, 'win:workstation5:sysmon:388000');
  });

  it('flags machine and service accounts', () => {
    const names = ['WORKSTATION5$', 'SYSTEM', 'LOCAL SERVICE', 'NETWORK SERVICE', 'ANONYMOUS LOGON', 'DWM-1', 'UMFD-0'];
    for (const name of names) {
      const e = event(parseWindowsRecord(nxlog({ EventID: 4624, TargetUserName: name, LogonType: '5' })));
      assert.equal(e.machineAccount, true, name);
      assert.ok(!e.user.endsWith('$'), 'the trailing $ is kept off the name');
    }
    assert.equal(event(parseWindowsRecord(nxlog({ EventID: 4624, TargetUserName: 'dwmuser' }))).machineAccount, false);
  });
});

describe('parseWindowsRecord: other export shapes', () => {
  it('reads the python-evtx flattening (evtx-attack-samples): record ids scoped by source file', () => {
    const e = event(
      parseWindowsRecord({
        source_file: 'Credential Access/kerberos_pwd_spray_4771.evtx',
        record_id: 9,
        time_created: '2020-07-22 20:29:36.425364',
        event_id: 4771,
        channel: 'Security',
        computer: '01566s-win16-ir.threebeesco.com',
        event_data: { TargetUserName: 'Administrator', IpAddress: '172.16.66.1', Status: '0x00000018' },
      }),
    );
    assert.deepEqual(
      [e.user, e.host, e.action, e.source],
      ['administrator', '01566s-win16-ir', 'logon-failure', '172.16.66.1'],
    );
    assert.equal(new Date(e.time).toISOString(), '2020-07-22T20:29:36.425Z');
    assert.equal(e.recordId, 'win:01566s-win16-ir:security:Credential Access/kerberos_pwd_spray_4771.evtx:9');
  });

  it('reads evtx_dump JSON (Event.System / Event.EventData, #text and #attributes)', () => {
    const e = event(
      parseWindowsRecord({
        Event: {
          '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
          System: {
            Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing' } },
            EventID: { '#text': 4624 },
            EventRecordID: 1234,
            Channel: 'Security',
            Computer: 'PC01.example.corp',
            TimeCreated: { '#attributes': { SystemTime: '2019-02-13T18:02:04.426662Z' } },
          },
          EventData: { TargetUserName: 'user01', TargetDomainName: 'EXAMPLE', IpAddress: '10.1.1.1', LogonType: 10 },
        },
      }),
    );
    assert.deepEqual(
      [e.user, e.domain, e.host, e.detail, e.recordId],
      ['user01', 'example', 'pc01', '10', 'win:pc01:security:1234'],
    );
    assert.equal(new Date(e.time).toISOString(), '2019-02-13T18:02:04.427Z');
  });

  it('reads EventData as a list of named Data elements', () => {
    const e = event(
      parseWindowsRecord({
        Event: {
          System: {
            EventID: 4625,
            Channel: 'Security',
            Computer: 'PC01',
            TimeCreated: { SystemTime: '2021-01-01T00:00:00Z' },
          },
          EventData: {
            Data: [
              { '#attributes': { Name: 'TargetUserName' }, '#text': 'eve' },
              { '@Name': 'IpAddress', '#text': '10.0.0.5' },
            ],
          },
        },
      }),
    );
    assert.deepEqual([e.user, e.source, e.action], ['eve', '10.0.0.5', 'logon-failure']);
  });

  it('reads Winlogbeat / ECS documents (winlog.event_data)', () => {
    const e = event(
      parseWindowsRecord({
        '@timestamp': '2023-05-01T10:00:00.000Z',
        host: { name: 'dc1.corp.example' },
        winlog: {
          event_id: '4624',
          channel: 'Security',
          computer_name: 'DC1.corp.example',
          record_id: 77,
          event_data: { TargetUserName: 'Alice', TargetDomainName: 'CORP', IpAddress: '10.0.0.7', LogonType: '3' },
        },
      }),
    );
    assert.deepEqual(
      [e.user, e.domain, e.host, e.source, e.recordId],
      ['alice', 'corp', 'dc1', '10.0.0.7', 'win:dc1:security:77'],
    );
  });
});

describe('parseWindowsLine: bad and unmodelled input is classified, never thrown', () => {
  it('counts unknown event ids and other channels as ignored', () => {
    assert.equal(parseWindowsRecord(nxlog({ EventID: 4658, SubjectUserName: 'x' })).kind, 'ignored');
    assert.equal(
      parseWindowsRecord(nxlog({ EventID: 3, Channel: 'Microsoft-Windows-Sysmon/Operational', User: 'a\\b' })).kind,
      'ignored',
    );
    assert.equal(
      parseWindowsRecord(nxlog({ EventID: 4624, Channel: 'Windows PowerShell', TargetUserName: 'a' })).kind,
      'ignored',
    );
  });

  it('marks bad JSON, non-objects, records without event id, user or time as malformed', () => {
    assert.equal(parseWindowsLine('{"EventID": 4624, "TargetUser').kind, 'malformed');
    assert.equal(parseWindowsLine('[1,2,3]').kind, 'malformed');
    assert.equal(parseWindowsLine('{"Hostname": "x"}').kind, 'malformed');
    assert.equal(parseWindowsRecord(nxlog({ EventID: 4624, TargetUserName: '-' })).kind, 'malformed');
    const noTime = { EventID: 4624, Channel: 'Security', TargetUserName: 'bob', Hostname: 'h' };
    const outcome = parseWindowsRecord(noTime);
    assert.equal(outcome.kind, 'malformed');
    assert.match((outcome as { reason: string }).reason, /time/);
  });

  it('skips unmodelled ids from the raw text without parsing (a broken line of such a type is ignored)', () => {
    assert.equal(parseWindowsLine('{"EventID": 4658, "Channel": "Security", "broken').kind, 'ignored');
    assert.equal(parseWindowsLine('{"winlog": {"event_id": "4663", "channel": "Security"}}').kind, 'ignored');
    // A modelled id still goes through the full parse (and a broken one is malformed).
    assert.equal(parseWindowsLine('{"EventID": 4624, "Channel": "Security", "broken').kind, 'malformed');
  });

  it('ids records without a record number by a hash of the line, so exact re-deliveries collide', () => {
    const line = JSON.stringify({
      EventID: 4624,
      Channel: 'Security',
      TargetUserName: 'bob',
      '@timestamp': '2024-01-01T00:00:00Z',
    });
    const a = event(parseWindowsLine(line));
    const b = event(parseWindowsLine(line));
    const c = event(parseWindowsLine(line.replace('bob', 'eve')));
    assert.equal(a.recordId, b.recordId);
    assert.notEqual(a.recordId, c.recordId);
  });
});
