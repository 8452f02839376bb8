import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { parseCsv } from '../../../src/data/csv.js';
import { crywolfAlerts, crywolfEscalationShare } from '../../../src/detectors/triage/crywolf.js';

// Made-up rows in the layout of Cry Wolf's session Event sheet (the real data is never bundled).
const EVENTS = [
  '\ufeffid,time_between_authentications,number_failed_logins2,number_successful_logins2,source_provider1,number_successful_logins1,should_escalate,vpn_confidence,source_provider2,country_of_authentication2,number_failed_logins1,country_of_authentication1',
  '1,0.5,0,3,Telecom,4,0,90%,Hosting/server,Oslo,1,Lima',
  '2,1.2,100+,1,Telecom,2,1,0%,Telecom,Quito,0,Rome',
  '3,please answer,x,x,x,x,x,x,x,x,x,x',
].join('\n');

describe('Cry Wolf alerts', () => {
  it('maps each event to one alert with truth, provider signature, confidence and severity', () => {
    const { alerts, skipped } = crywolfAlerts(parseCsv(EVENTS));
    assert.equal(skipped, 1, 'the attention-check row is skipped');
    assert.equal(alerts.length, 2);
    const [a, b] = alerts;
    assert.equal(a?.truth, false);
    assert.equal(a?.signatureId, 'crywolf-travel/Telecom/Hosting/server');
    assert.ok(Math.abs((a?.confidence as number) - 0.1) < 1e-12);
    assert.equal(a?.severity, 'medium');
    assert.equal(b?.truth, true);
    assert.equal(b?.severity, 'high', "'100+' failed logins");
    assert.notEqual(a?.user, b?.user);
  });

  it('counts escalations per alert and rejects other tables', () => {
    const d = parseCsv(
      "id,time_event_decision,escalate,user,confidence,event_id\n1,1,Escalate,u1,5,2\n2,1,Don't escalate,u2,3,2",
    );
    assert.deepEqual(crywolfEscalationShare(d).get('crywolf:2'), { escalate: 1, total: 2 });
    assert.throws(() => crywolfAlerts(parseCsv('a,b\n1,2')), AegisInputError);
  });
});
