// Drives a real headless Chromium (Debian's /usr/bin/chromium) with playwright-core
// for the UI tests. One JSON command per stdin line, one JSON answer per stdout line:
//
//   {"op":"goto","url":U}               -> {"ok":true,"status":200,"url":U'}
//   {"op":"fill","selector":S,"value":V}
//   {"op":"select","selector":S,"value":V}
//   {"op":"click","selector":S}         -> {"ok":true,"url":U'} once the next page loaded
//   {"op":"text","selector":S}          -> {"ok":true,"text":T|null}
//   {"op":"screenshot","path":P}
//   {"op":"post","url":U,"form":{…}}    -> {"ok":true,"status":N} (a form POST from outside the page: no CSRF token)
//   {"op":"get","url":U}                -> {"ok":true,"status":N,"type":T,"body":B} (with the browser's cookies)
//   {"op":"eval","expression":E}        -> {"ok":true,"value":V} (E evaluated in the page)
//   {"op":"cookies"}                    -> {"ok":true,"cookies":[{name,httpOnly,sameSite,secure}]}
//   {"op":"forget"}                     (a new browser: no cookies at all)
'use strict';
const { chromium } = require('playwright-core');
const readline = require('readline');

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const viewport = process.env.UI_MOBILE ? { width: 390, height: 844 } : { width: 1280, height: 800 };
  let context = await browser.newContext({ viewport });
  let page = await context.newPage();
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    let out = {};
    try {
      switch (cmd.op) {
        case 'goto': {
          const response = await page.goto(cmd.url);
          out = { status: response ? response.status() : null, url: page.url() };
          break;
        }
        case 'fill':
          await page.fill(cmd.selector, cmd.value);
          break;
        case 'select':
          await page.selectOption(cmd.selector, cmd.value);
          break;
        case 'click': {
          const [response] = await Promise.all([
            page.waitForNavigation({ waitUntil: 'load' }),
            page.click(cmd.selector),
          ]);
          out = { status: response ? response.status() : null, url: page.url() };
          break;
        }
        case 'text': {
          const element = await page.$(cmd.selector);
          out = { text: element ? (await element.textContent()).trim() : null };
          break;
        }
        case 'screenshot':
          await page.screenshot({ path: cmd.path, fullPage: true });
          break;
        case 'post': {
          const response = await page.request.post(cmd.url, { form: cmd.form, maxRedirects: 0 });
          out = { status: response.status() };
          break;
        }
        case 'get': {
          const response = await page.request.get(cmd.url, { maxRedirects: 0 });
          out = { status: response.status(), type: response.headers()['content-type'] || null, body: await response.text() };
          break;
        }
        case 'eval':
          out = { value: await page.evaluate(cmd.expression) };
          break;
        case 'cookies':
          out = {
            cookies: (await context.cookies()).map((c) => ({
              name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, secure: c.secure,
            })),
          };
          break;
        case 'forget':
          await context.close();
          context = await browser.newContext({ viewport });
          page = await context.newPage();
          break;
        default:
          throw new Error(`unknown op ${cmd.op}`);
      }
      console.log(JSON.stringify({ ok: true, ...out }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }));
    }
  }
  await browser.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
