// Opens a page in headless Chromium (Debian's `chromium` package) and reports what the browser saw:
// console messages, uncaught exceptions, log entries (CSP violations, failed loads), every request
// and every failed one, and the value of an expression evaluated in the page once it has loaded.
// It speaks the DevTools protocol over --remote-debugging-pipe (JSON messages ending in NUL, the
// browser reading fd 3 and writing fd 4), so it needs neither a WebSocket client nor a port.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Readable, Writable } from 'stream';

/** The Chromium binary: $CHROMIUM, else the first of chromium, chromium-browser on PATH; undefined when there is none. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

export interface PageReport {
  /** console.* calls and browser log entries of level error or warning: "level: text". */
  messages: string[];
  /** Uncaught exceptions. */
  exceptions: string[];
  /** Every URL the page requested, data: URLs included (shortened to 60 characters). */
  requests: string[];
  /** Requests that failed: "url: reason". */
  failed: string[];
  /** The expression's value (JSON-serialisable). */
  value: unknown;
}

/** A DevTools protocol message: a reply (id) or an event (method); its fields are the protocol's, untyped here. */
interface Message {
  id?: number;
  method?: string;
  params?: Record<string, any>;
  result?: Record<string, any>;
  error?: { message: string };
  sessionId?: string;
}

/** Loads `url` in a fresh headless browser, waits for its load event, then evaluates `expression` (awaited). */
export async function inspectPage(chromium: string, url: string, expression: string, timeoutMs = 30000): Promise<PageReport> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-chromium-'));
  const browser = spawn(
    chromium,
    // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  const toBrowser = browser.stdio[3] as Writable;
  const fromBrowser = browser.stdio[4] as Readable;
  let stderr = '';
  browser.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));

  const report: PageReport = { messages: [], exceptions: [], requests: [], failed: [], value: undefined };
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  const requestUrls = new Map<string, string>();
  let loaded: () => void = () => undefined;
  const loadEvent = new Promise<void>((resolve) => (loaded = resolve));
  let nextId = 1;
  let buffered = '';

  const onEvent = (m: Message): void => {
    const p = m.params ?? {};
    if (m.method === 'Runtime.consoleAPICalled') {
      report.messages.push(`${p.type}: ${(p.args ?? []).map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(' ')}`);
    } else if (m.method === 'Runtime.exceptionThrown') {
      report.exceptions.push(p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text);
    } else if (m.method === 'Log.entryAdded' && ['error', 'warning'].includes(p.entry.level)) {
      report.messages.push(`${p.entry.level}: ${p.entry.text}${p.entry.url ? ` (${p.entry.url.slice(0, 60)})` : ''}`);
    } else if (m.method === 'Network.requestWillBeSent') {
      requestUrls.set(p.requestId, p.request.url);
      report.requests.push(p.request.url.slice(0, 60));
    } else if (m.method === 'Network.loadingFailed') {
      report.failed.push(`${(requestUrls.get(p.requestId) ?? p.requestId).slice(0, 60)}: ${p.errorText}${p.blockedReason ? ` (${p.blockedReason})` : ''}`);
    } else if (m.method === 'Page.loadEventFired') {
      loaded();
    }
  };
  fromBrowser.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let end: number;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const m = JSON.parse(buffered.slice(0, end)) as Message;
      buffered = buffered.slice(end + 1);
      if (m.id !== undefined) {
        const waiter = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) waiter?.reject(new Error(`chromium: ${m.error.message}`));
        else waiter?.resolve(m);
      } else {
        onEvent(m);
      }
    }
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<Message> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });

  const exited = new Promise<void>((resolve) => browser.once('exit', () => resolve()));
  const failure = new Promise<never>((_, reject) => {
    browser.once('error', (error) => reject(new Error(`${chromium}: cannot start (${error.message})`)));
    void exited.then(() => reject(new Error(`${chromium} exited early: ${stderr.trim().split('\n').pop()}`)));
  });
  // It rejects on every exit, the expected one after Browser.close too: only the race reads it.
  failure.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`chromium: ${url} did not load and evaluate within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      failure,
      timeout,
      (async () => {
        const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })).result as { targetId: string };
        const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })).result as { sessionId: string };
        for (const domain of ['Runtime', 'Log', 'Network', 'Page']) await send(`${domain}.enable`, {}, sessionId);
        await send('Page.navigate', { url }, sessionId);
        await loadEvent;
        const evaluated = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
        report.value = evaluated.result?.result?.value;
        await send('Browser.close');
      })(),
    ]);
  } finally {
    clearTimeout(timer);
    if (browser.exitCode === null) browser.kill();
    await exited;
    // Chromium's helper processes may still be writing the profile for a moment after it exits.
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
  return report;
}
