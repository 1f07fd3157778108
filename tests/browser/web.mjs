// The web view in a real browser: Debian's chromium driven by playwright-core, headless.
// node web.mjs answer|figures LINK — exits non-zero with a message on the first failure.
import { chromium } from 'playwright-core';

const [phase, link] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox'], // the test may run as root
});
const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));

try {
	const resp = await page.goto(link);
	if (resp.status() !== 200) fail(`the link answered ${resp.status()}`);
	const csp = resp.headers()['content-security-policy'] || '';
	if (!csp.includes("default-src 'none'")) fail(`no CSP: ${csp}`);
	if ((await page.locator('h1').first().textContent()) !== 'Pilot') fail('not the campaign page');
	// The stylesheet loaded under the CSP: the body's font is the sheet's.
	const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
	if (!font.includes('system-ui')) fail(`the stylesheet did not apply: ${font}`);

	if (phase === 'answer') {
		await page.getByRole('link', { name: /Answer/ }).click();
		await page.waitForURL(/\/form$/);
		await page.getByLabel('4', { exact: true }).check();
		await page.getByLabel('User').check();
		await page.getByLabel('Slack').check();
		await page.getByLabel('Phone').check();
		await page.getByLabel('Your answer').fill('Weekly demos');
		const wide = await page.evaluate(() => document.documentElement.scrollWidth);
		if (wide > 360) fail(`the form scrolls sideways at 360 px (${wide} px wide)`);
		await page.getByRole('button', { name: 'Send my answers' }).click();
		await page.waitForSelector('h1');
		const h1 = await page.locator('h1').textContent();
		if (h1 !== 'Recorded') fail(`after submitting: ${h1}: ${await page.content()}`);
		const reply = await page.locator('.reply').textContent();
		if (!reply.includes('How clear')) fail(`the confirmation does not echo the answers: ${reply}`);
		await page.getByRole('link', { name: 'Back to the form' }).click();
		await page.waitForURL(/\/form$/);
		await page.reload();
		if (!(await page.getByLabel('4', { exact: true }).isChecked())) fail('the form is not prefilled (scale)');
		if (!(await page.getByLabel('Phone').isChecked())) fail('the form is not prefilled (multi)');
		if (await page.getByLabel('Email').isChecked()) fail('an option not chosen is checked');
		if ((await page.getByLabel('Your answer').inputValue()) !== 'Weekly demos') fail('the text is not prefilled');
	} else {
		await page.getByRole('link', { name: 'once' }).click();
		await page.waitForURL(/\/once$/);
		const bars = await page.locator('svg.chart rect.bar').count();
		if (bars < 4) fail(`expected SVG bars, found ${bars}`);
		const w = await page.locator('svg[aria-label="Answers to question 1"] rect.bar[width="200"]').count();
		if (w !== 1) fail('question 1 has no full bar for its one answer');
		if (!(await page.content()).includes('mean 4.0')) fail('no mean');
		const wide = await page.evaluate(() => document.documentElement.scrollWidth);
		if (wide > 360) fail(`the figures scroll sideways at 360 px (${wide} px wide)`);
		if (errors.length) fail('console errors: ' + errors.join(' | '));
		// The CSP holds: an inline script put into the page does not run (and says so).
		const ran = await page.evaluate(() => {
			const s = document.createElement('script');
			s.textContent = 'window.__injected = 1';
			document.body.appendChild(s);
			return window.__injected === 1;
		});
		if (ran) fail('an inline script ran: the CSP does not hold');
		await page.waitForTimeout(200);
		if (!errors.some((e) => /Content Security Policy/i.test(e))) fail('no CSP violation was reported');
		errors.length = 0;
	}
	if (errors.length) fail('console errors: ' + errors.join(' | '));
	console.log(`browser ${phase}: ok`);
} finally {
	await browser.close();
}
