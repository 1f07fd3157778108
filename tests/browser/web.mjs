// The web view in a real browser: Debian's chromium driven by playwright-core, headless.
// node web.mjs answer|refused|figures LINK [EXPIRED_LINK] — exits non-zero with a message on
// the first failure.
import { chromium } from 'playwright-core';

const [phase, link, expired] = process.argv.slice(2);
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

// The browser reports a page answered 403 as a console error: expected where a link or a
// POST is refused on purpose.
// So is a form sent back with an error at a field (422).
const unexpected = () => errors.filter((e) => !/status of (403|422)/.test(e));

try {
	if (phase === 'refused') {
		// An altered link (its signature's last digit changed) and an expired one: 403, and a
		// page that says how to get a new link.
		const last = link.slice(-1);
		const altered = link.slice(0, -1) + (last === '0' ? '1' : '0');
		for (const [what, url, says] of [['an altered link', altered, 'not valid'],
			['an expired link', expired, 'expired']]) {
			const r = await page.goto(url);
			if (r.status() !== 403) fail(`${what} answered ${r.status()}`);
			const text = await page.locator('main').textContent();
			if (!text.includes(says) || !text.includes('cococtl link')) fail(`${what}: ${text}`);
			const cookies = await page.context().cookies();
			if (cookies.length) fail(`${what} set a cookie: ${JSON.stringify(cookies)}`);
		}
		if (unexpected().length) fail('console errors: ' + unexpected().join(' | '));
		console.log('browser refused: ok');
		process.exit(0);
	}
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
		// A forged form (its CSRF token altered, as a page of another site could not know
		// it) is refused: 403, nothing recorded (the test counts the records after).
		const formUrl = page.url();
		await page.evaluate(() => {
			const t = document.querySelector('input[name=csrf]');
			t.value = t.value.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
		});
		await page.getByRole('button', { name: 'Send my answers' }).click();
		await page.waitForLoadState();
		let text = await page.locator('main').textContent();
		if (!text.includes('not sent from your own page')) fail(`a forged CSRF token: ${text}`);
		// A page of another site posting to the form: the SameSite=Strict cookie stays home.
		await page.goto('about:blank');
		await page.setContent(`<form method="post" action="${formUrl}"><input name="occurrence" value="once">` +
			'<input name="q1" value="1"><button>go</button></form>');
		await page.getByRole('button', { name: 'go' }).click();
		await page.waitForLoadState();
		text = await page.locator('body').textContent();
		if (!text.includes('needs your personal link')) fail(`a cross-site POST: ${text}`);

		// A text longer than coco takes: the form again, headed as an error, the error at
		// its field, what was entered kept; nothing recorded (the test counts the records).
		await page.goto(formUrl);
		await page.getByLabel('4', { exact: true }).check();
		await page.getByLabel('User').check();
		await page.getByLabel('Your answer').fill('x'.repeat(2100));
		await page.getByRole('button', { name: 'Send my answers' }).click();
		await page.waitForSelector('h1');
		if ((await page.locator('h1').textContent()) !== 'Not recorded: please check your answers')
			fail(`a too long text: ${await page.locator('main').textContent()}`);
		const why = await page.locator('#q4-error').textContent();
		if (!why.includes('too long')) fail(`no error at the text field: ${why}`);
		if (!(await page.getByLabel('4', { exact: true }).isChecked())) fail('the scale answer was not kept');
		if ((await page.getByLabel('Your answer').inputValue()).length !== 2100) fail('the text was not kept');
		if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT, fullPage: true });

		await page.goto(formUrl);
		await page.getByLabel('4', { exact: true }).check();
		await page.getByLabel('User').check();
		await page.getByLabel('Slack').check();
		await page.getByLabel('Phone').check();
		await page.getByLabel('Your answer').fill('Weekly demos');
		let posted = null;
		page.on('request', (r) => { if (r.method() === 'POST') posted = r.postData(); });
		await page.getByRole('button', { name: 'Send my answers' }).click();
		await page.waitForSelector('h1');
		const h1 = await page.locator('h1').textContent();
		if (h1 !== 'Recorded') fail(`after submitting: ${h1}: ${await page.content()}`);
		const reply = await page.locator('ul.recorded').textContent();
		if (!reply.includes('How clear')) fail(`the confirmation does not echo the answers: ${reply}`);
		// The browser's own confirmation: no mail signature, no link to answer "in your browser".
		const whole = await page.locator('main').textContent();
		if (/in your browser|^-- $/m.test(whole)) fail(`the confirmation reads like a mail: ${whole}`);
		// The same POST sent again (a replay: the browser's request, its cookie): the page
		// says recorded, the store has it once (the test counts).
		if (!posted) fail('no POST seen');
		const again = await page.context().request.post(formUrl, {
			headers: { 'content-type': 'application/x-www-form-urlencoded' }, data: posted });
		if (again.status() !== 200) fail(`the replayed POST answered ${again.status()}`);
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
		if (w !== 4) fail(`question 1: expected 4 full bars (one answer each of 2, 3, 4, 5), found ${w}`);
		if (!(await page.content()).includes('mean 3.5')) fail('no mean');
		// Both sides, in words and drawn: Acme (client) 4 and 5, Northwind (provider) 2 and 3.
		const main = await page.locator('main').textContent();
		for (const want of ['Acme: mean 4.5, median 4.5 (2 answers)', 'Northwind: mean 2.5, median 2.5 (2 answers)',
			'Gap (Acme − Northwind): +2.0, Acme higher.', 'worth talking about'])
			if (!main.includes(want)) fail(`the page does not say "${want}": ${main}`);
		const sides = page.locator('svg[aria-label="Mean by side, question 1"]');
		if ((await sides.locator('rect.bar').count()) !== 2) fail('no bar per side');
		// Each side's mean on the 1–5 scale: 4.5 is 88% of 200 px, 2.5 is 38%.
		if ((await sides.locator('rect.bar.side-client').getAttribute('width')) !== '176') fail('the client bar');
		if ((await sides.locator('rect.bar.side-provider').getAttribute('width')) !== '76') fail('the provider bar');
		const labels = await sides.locator('text').allTextContents();
		for (const want of ['Acme', '4.5', 'Northwind', '2.5'])
			if (!labels.includes(want)) fail(`the side chart lacks "${want}": ${labels}`);
		// A choice: each side's share per option, drawn (Acme: User 2 of 2; Northwind: 0 of 2).
		const user = page.locator('svg[aria-label="User by side, question 2"]');
		if ((await user.locator('rect.bar.side-client').getAttribute('width')) !== '200') fail('User: the client bar');
		if ((await user.locator('rect.bar.side-provider').getAttribute('width')) !== '0') fail('User: the provider bar');
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
	if (unexpected().length) fail('console errors: ' + unexpected().join(' | '));
	console.log(`browser ${phase}: ok`);
} finally {
	await browser.close();
}
