/*
 * common.js: what the browser test drivers share: Debian's chromium
 * launched headless without the background traffic a closed network
 * refuses, and a page's console errors, page errors and requests that
 * leave its origin, recorded into a log.
 */
'use strict';

const { chromium } = require('playwright-core');

function launch(executablePath) {
	return chromium.launch({ executablePath, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
		    '--no-first-run', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'] });
}

/* log: {console: [], pageErrors: [], requests: [], foreign: []} */
function watchPage(page, origin, log) {
	page.on('console', (m) => {
		if (m.type() === 'error' || m.type() === 'warning')
			log.console.push(m.type() + ': ' + m.text());
	});
	page.on('pageerror', (e) => log.pageErrors.push(String(e)));
	page.on('request', (r) => {
		const u = r.url();
		log.requests.push(r.method() + ' ' + u);
		if (!u.startsWith('data:') && new URL(u).origin !== origin)
			log.foreign.push(u);
	});
}

module.exports = { launch, watchPage };
