/**
 * Host names through tldts (the Public Suffix List, private suffixes included so that
 * a.github.io and b.github.io are different sites), and what one URL says about itself:
 * IP host, punycode, a brand look-alike or a brand in the subdomain, a shortener, a deep
 * subdomain, credentials before the host (http://paypal.com@evil.example), an explicit port.
 */
import { parse } from 'tldts';
import { type Brand, brandInSubdomain, lookalikeBrand } from './brands.js';

export interface HostInfo {
  hostname: string;
  /** Registrable domain (eTLD+1); the hostname itself for IPs and bare names. */
  domain: string;
  subdomain: string;
  isIp: boolean;
}

export interface UrlInfo extends HostInfo {
  url: string;
  punycode: boolean;
  lookalike?: Brand;
  brandInSubdomain?: Brand;
  shortener: boolean;
  /** Labels left of the registrable domain. */
  subdomainDepth: number;
  atSign: boolean;
  port: boolean;
}

export const SHORTENERS: ReadonlySet<string> = new Set(
  (
    'bit.ly tinyurl.com goo.gl t.co ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at tiny.cc rb.gy s.id bl.ink ' +
    'lnkd.in t.ly qrco.de x.co shorte.st adf.ly v.gd tr.im snip.ly urlz.fr dub.sh bitly.com tinyurl.is surl.li ' +
    'shorturl.com cli.gs u.to clck.ru'
  ).split(' '),
);

/** The host of an address or URL host part through the Public Suffix List. */
export function hostInfo(host: string): HostInfo | undefined {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (!h) return undefined;
  const p = parse(h, { allowPrivateDomains: true });
  if (!p.hostname) return undefined;
  const isIp = p.isIp === true;
  return {
    hostname: p.hostname,
    domain: isIp ? p.hostname : (p.domain ?? p.hostname),
    subdomain: p.subdomain ?? '',
    isIp,
  };
}

/** Registrable domain of a host ('' when there is none). */
export function registrableDomain(host: string): string {
  return hostInfo(host)?.domain ?? '';
}

/** URL-like strings (http(s), protocol-relative, www.…) analysed; undefined for mailto:, cid:, #, javascript:. */
export function analyzeUrl(url: string): UrlInfo | undefined {
  const u = url.trim();
  if (!u || /^(mailto|cid|tel|javascript|data|about|file):/i.test(u) || u.startsWith('#')) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? u : `http://${u.replace(/^\/\//, '')}`;
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(withScheme)?.[1] ?? '';
  const atSign = authority.includes('@');
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const port = /:\d+$/.test(hostPort) && !/:(80|443)$/.test(hostPort);
  const info = hostInfo(hostPort.replace(/:\d*$/, ''));
  if (!info) return undefined;
  const labels = info.subdomain ? info.subdomain.split('.') : [];
  const label = info.isIp ? '' : (info.domain.split('.')[0] ?? '');
  const lookalike = info.isIp ? undefined : lookalikeBrand(label, info.domain);
  const inSub = info.isIp ? undefined : brandInSubdomain(info.subdomain, info.domain);
  return {
    ...info,
    url: u,
    punycode: info.hostname.split('.').some((l) => l.startsWith('xn--')),
    ...(lookalike ? { lookalike } : {}),
    ...(inSub ? { brandInSubdomain: inSub } : {}),
    shortener: SHORTENERS.has(info.domain) || SHORTENERS.has(info.hostname),
    subdomainDepth: labels.filter((l) => l !== 'www').length,
    atSign,
    port,
  };
}

/** Anchor text that is itself a URL or a bare domain (with an optional path), nothing else. */
const DOMAIN_IN_TEXT = /^(?:https?:\/\/)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?:[:/?#]\S*)?$/i;

/** The registrable domain anchor text names when the text is a URL ("www.paypal.com", "https://ebay.com/x"). */
export function domainNamedIn(text: string): string | undefined {
  const m = DOMAIN_IN_TEXT.exec(text.trim());
  if (!m) return undefined;
  const info = hostInfo(m[1] as string);
  // Only real public suffixes count: "e.g." or "file.txt" do not name a site.
  const p = parse(m[1] as string);
  return info && p.isIcann ? info.domain : undefined;
}
