/**
 * Synthetic flow records in the NSL-KDD, UNSW-NB15 and CIC-IDS2017 layouts, for tests (the real
 * files carry no licence and are not bundled). Each kind of flow has a planted, separable pattern
 * close to the real one: normal web/mail/DNS traffic; a SYN flood (neptune: S0, high count,
 * serror 1); a port sweep (REJ, high diff_srv and rerror); password guessing (telnet, failed
 * logins); a buffer overflow (root shell, file creations); and, for novelty tests, a kind never
 * used in training ('processtable': long, silent connections to an unseen service).
 */
import { Rng } from '../../src/core/rng.js';
import { NSL_KDD_COLUMNS } from '../../src/detectors/network/layouts.js';

export type NslKind = 'normal' | 'neptune' | 'portsweep' | 'guess_passwd' | 'buffer_overflow' | 'processtable';

const r2 = (x: number) => Math.round(x * 100) / 100;

/** One NSL-KDD row (43 fields) of the given kind. */
export function nslRow(kind: NslKind, rng: Rng): (string | number)[] {
  const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  const u = (lo: number, hi: number) => r2(rng.uniform(lo, hi));
  const v: Record<string, string | number> = Object.fromEntries(NSL_KDD_COLUMNS.map((c) => [c, 0]));
  v.protocol_type = 'tcp';
  v.flag = 'SF';
  v.label = kind;
  v.difficulty = int(10, 21);
  const host = (same: number, serror: number, rerror: number) => {
    v.dst_host_count = int(20, 255);
    v.dst_host_srv_count = int(1, 255);
    v.dst_host_same_srv_rate = same;
    v.dst_host_diff_srv_rate = r2(1 - same);
    v.dst_host_serror_rate = serror;
    v.dst_host_srv_serror_rate = serror;
    v.dst_host_rerror_rate = rerror;
    v.dst_host_srv_rerror_rate = rerror;
  };
  switch (kind) {
    case 'normal': {
      const service = (['http', 'smtp', 'ftp_data', 'domain_u'] as const)[rng.int(4)] as string;
      v.service = service;
      if (service === 'domain_u') v.protocol_type = 'udp';
      v.duration = rng.next() < 0.8 ? 0 : int(1, 30);
      v.src_bytes = int(100, 2000);
      v.dst_bytes = service === 'domain_u' ? 0 : int(200, 20000);
      v.logged_in = service === 'domain_u' ? 0 : 1;
      v.count = int(1, 20);
      v.srv_count = int(1, 25);
      v.same_srv_rate = u(0.8, 1);
      v.diff_srv_rate = u(0, 0.1);
      v.srv_diff_host_rate = u(0, 0.3);
      host(u(0.6, 1), 0, u(0, 0.05));
      break;
    }
    case 'neptune':
      v.service = (['private', 'http', 'telnet'] as const)[rng.int(3)] as string;
      v.flag = 'S0';
      v.count = int(100, 500);
      v.srv_count = int(1, 30);
      v.serror_rate = 1;
      v.srv_serror_rate = 1;
      v.same_srv_rate = u(0, 0.1);
      v.diff_srv_rate = u(0.05, 0.1);
      host(u(0, 0.1), 1, 0);
      v.dst_host_count = 255;
      break;
    case 'portsweep':
      v.service = (['private', 'other', 'finger'] as const)[rng.int(3)] as string;
      v.flag = rng.next() < 0.5 ? 'REJ' : 'RSTR';
      v.duration = rng.next() < 0.7 ? 0 : int(1, 5000);
      v.count = int(1, 5);
      v.srv_count = int(1, 5);
      v.rerror_rate = u(0.5, 1);
      v.srv_rerror_rate = u(0.5, 1);
      v.same_srv_rate = u(0, 0.3);
      v.diff_srv_rate = u(0.5, 1);
      host(u(0, 0.2), 0, u(0.5, 1));
      break;
    case 'guess_passwd':
      v.service = 'telnet';
      v.flag = rng.next() < 0.5 ? 'RSTO' : 'SF';
      v.duration = int(1, 5);
      v.src_bytes = int(100, 130);
      v.dst_bytes = int(100, 200);
      v.num_failed_logins = 1;
      v.hot = int(0, 1);
      v.count = 1;
      v.srv_count = 1;
      v.same_srv_rate = 1;
      host(u(0.9, 1), 0, u(0.5, 1));
      v.dst_host_count = int(1, 60);
      break;
    case 'buffer_overflow':
      v.service = 'telnet';
      v.duration = int(50, 300);
      v.src_bytes = int(1000, 3000);
      v.dst_bytes = int(3000, 9000);
      v.hot = int(1, 3);
      v.logged_in = 1;
      v.root_shell = 1;
      v.num_root = int(1, 3);
      v.num_file_creations = int(1, 2);
      v.count = 1;
      v.srv_count = 1;
      v.same_srv_rate = 1;
      host(u(0.2, 1), 0, 0);
      v.dst_host_count = int(1, 10);
      break;
    case 'processtable':
      v.service = 'Z39_50';
      v.flag = 'S1';
      v.duration = int(5000, 40000);
      v.count = int(1, 3);
      v.srv_count = int(1, 3);
      v.same_srv_rate = 1;
      host(1, 0, 0);
      v.dst_host_count = int(1, 3);
      v.dst_host_same_src_port_rate = 1;
      break;
  }
  return NSL_KDD_COLUMNS.map((c) => v[c] as string | number);
}

/** Mix of NSL-KDD kinds (shares sum to ≤ 1; the rest is normal), as text lines. */
export function nslLines(n: number, seed: number, shares: Partial<Record<NslKind, number>> = DEFAULT_SHARES): string[] {
  const rng = new Rng(seed);
  const kinds = Object.entries(shares) as [NslKind, number][];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    let p = rng.next();
    let kind: NslKind = 'normal';
    for (const [k, share] of kinds) {
      if (p < share) {
        kind = k;
        break;
      }
      p -= share;
    }
    lines.push(nslRow(kind, rng).join(','));
  }
  return lines;
}

export const DEFAULT_SHARES: Partial<Record<NslKind, number>> = {
  neptune: 0.25,
  portsweep: 0.12,
  guess_passwd: 0.06,
  buffer_overflow: 0.04,
};

export const UNSW_HEADER =
  'id,dur,proto,service,state,spkts,dpkts,sbytes,dbytes,rate,sttl,dttl,sload,dload,sloss,dloss,sinpkt,dinpkt,sjit,djit,swin,stcpb,dtcpb,dwin,tcprtt,synack,ackdat,smean,dmean,trans_depth,response_body_len,ct_srv_src,ct_state_ttl,ct_dst_ltm,ct_src_dport_ltm,ct_dst_sport_ltm,ct_dst_src_ltm,is_ftp_login,ct_ftp_cmd,ct_flw_http_mthd,ct_src_ltm,ct_srv_dst,is_sm_ips_ports,attack_cat,label';

/** UNSW-NB15 partition CSV (BOM, CRLF) with Normal, Generic and Exploits rows. */
export function unswCsv(n: number, seed: number): string {
  const rng = new Rng(seed);
  const cols = UNSW_HEADER.split(',');
  const lines = [`\uFEFF${UNSW_HEADER}`];
  for (let i = 0; i < n; i++) {
    const p = rng.next();
    const cat = p < 0.5 ? 'Normal' : p < 0.8 ? 'Generic' : 'Exploits';
    const row: Record<string, string | number> = Object.fromEntries(cols.map((c) => [c, 0]));
    row.id = i + 1;
    row.proto = cat === 'Generic' ? 'udp' : 'tcp';
    row.service = cat === 'Normal' ? (rng.next() < 0.5 ? 'http' : '-') : cat === 'Generic' ? 'dns' : 'http';
    row.state = cat === 'Generic' ? 'INT' : 'FIN';
    row.dur = r2(rng.uniform(0, cat === 'Normal' ? 2 : 0.01));
    row.spkts = 2 + rng.int(cat === 'Exploits' ? 60 : 10);
    row.sbytes = cat === 'Generic' ? 114 : 200 + rng.int(cat === 'Exploits' ? 50000 : 3000);
    row.dbytes = cat === 'Generic' ? 0 : rng.int(20000);
    row.sttl = cat === 'Normal' ? 31 : 254;
    row.dttl = cat === 'Generic' ? 0 : 29;
    row.rate = r2(rng.uniform(0, 100000));
    row.ct_srv_src = 1 + rng.int(cat === 'Generic' ? 60 : 5);
    row.ct_dst_src_ltm = 1 + rng.int(cat === 'Generic' ? 60 : 5);
    row.attack_cat = cat;
    row.label = cat === 'Normal' ? 0 : 1;
    lines.push(cols.map((c) => row[c]).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** CICFlowMeter columns as the CIC-IDS2017 CSVs write them (leading spaces, "Fwd Header Length" twice). */
export const CIC_HEADER =
  ' Destination Port, Flow Duration, Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max,Flow Bytes/s, Flow Packets/s, Fwd Header Length, Fwd Header Length,Init_Win_bytes_forward, Label';

/** CIC-IDS2017-style CSV: BENIGN, DDoS and PortScan rows; zero-duration flows have Infinity/NaN rates. */
export function cicCsv(n: number, seed: number): { text: string; infinities: number; nans: number } {
  const rng = new Rng(seed);
  const lines = [CIC_HEADER];
  let infinities = 0;
  let nans = 0;
  for (let i = 0; i < n; i++) {
    const p = rng.next();
    const label = p < 0.6 ? 'BENIGN' : p < 0.8 ? 'DDoS' : 'PortScan';
    const duration = label === 'PortScan' && rng.next() < 0.3 ? 0 : 1 + rng.int(label === 'BENIGN' ? 5e6 : 1e5);
    const fwd = label === 'PortScan' ? 1 : 1 + rng.int(label === 'DDoS' ? 5 : 40);
    const bwd = label === 'PortScan' ? (rng.next() < 0.5 ? 1 : 0) : rng.int(30);
    const bytes = label === 'DDoS' ? 20 * fwd : label === 'PortScan' ? 0 : fwd * (40 + rng.int(1400));
    let rate: string;
    let pkts: string;
    if (duration === 0) {
      // CICFlowMeter divides by a zero duration: 0 bytes → NaN, else Infinity.
      if (bytes === 0) {
        rate = 'NaN';
        nans++;
      } else {
        rate = 'Infinity';
        infinities++;
      }
      pkts = 'Infinity';
      infinities++;
    } else {
      rate = String((bytes * 1e6) / duration);
      pkts = String(((fwd + bwd) * 1e6) / duration);
    }
    const port = label === 'PortScan' ? 1 + rng.int(1024) : label === 'DDoS' ? 80 : [443, 80, 53][rng.int(3)];
    lines.push(
      [
        port,
        duration,
        fwd,
        bwd,
        bytes,
        bwd * 100,
        bytes ? 40 + rng.int(100) : 0,
        rate,
        pkts,
        fwd * 20,
        fwd * 20,
        label === 'PortScan' ? 1024 : 8192 + rng.int(20000),
        label,
      ].join(','),
    );
  }
  return { text: `${lines.join('\n')}\n`, infinities, nans };
}
