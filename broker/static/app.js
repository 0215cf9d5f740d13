// SPDX-License-Identifier: GPL-3.0-or-later
//
// Skylight broker pages (broker/web.c): the one script.  It turns the forms
// and buttons into REST calls (docs/api.md) carrying the page's CSRF token,
// shows API errors in #error (an aria-live region) and, while a desktop or a
// job is in a transitional state, polls the API every 2 s and updates the
// page in place, reloading it once everything has settled.  Data from the
// API only ever reaches the page through textContent or attributes.
'use strict';

(function () {
	const POLL_MS = 2000;
	const BUSY_DESKTOP = ['Requested', 'Provisioning', 'Migrating'];
	const BUSY_JOB = ['queued', 'running'];
	// Mirrors web.c's state_badge(): state -> [badge class, label].
	const BADGES = {
		Running: ['ok', 'Running'],
		Provisioning: ['busy', 'Provisioning'],
		Requested: ['busy', 'Requested'],
		Migrating: ['busy', 'Migrating'],
		Off: ['off', 'Off'],
		Saved: ['off', 'Saved'],
		HostNotResponding: ['bad', 'Host not responding'],
		Expired: ['dark', 'Expired'],
		queued: ['busy', 'Queued'],
		running: ['busy', 'Running'],
		succeeded: ['ok', 'Succeeded'],
		failed: ['bad', 'Failed'],
	};

	const $ = (sel, root) => (root || document).querySelector(sel);
	const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
	const page = document.body.dataset.page || '';

	function csrf() {
		const m = $('meta[name="csrf-token"]');
		return m ? m.getAttribute('content') : '';
	}

	function showError(msg) {
		const e = $('#error');
		if (e)
			e.textContent = msg || '';
		if (msg) {
			const s = $('#status');
			if (s)
				s.textContent = '';
		}
	}

	function showStatus(msg) {
		const s = $('#status');
		if (s)
			s.textContent = msg || '';
	}

	class ApiError extends Error {
		constructor(message, status) {
			super(message);
			this.status = status;
		}
	}

	// fetch() with the session cookie and the CSRF header; resolves to the
	// JSON body (null for 204), rejects with an ApiError carrying the API's
	// {"error": ...} message.
	async function api(method, url, body) {
		const headers = { Accept: 'application/json' };
		const token = csrf();
		if (token && method !== 'GET')
			headers['X-CSRF-Token'] = token;
		const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			opts.body = JSON.stringify(body);
		}
		let r;
		try {
			r = await fetch(url, opts);
		} catch (e) {
			throw new ApiError('The broker cannot be reached (' + e.message + ').', 0);
		}
		let data = null;
		if (r.status !== 204) {
			try {
				data = await r.json();
			} catch (e) {
				data = null;
			}
		}
		if (!r.ok) {
			let msg = data && typeof data.error === 'string' ? data.error
				: 'Request failed: ' + r.status + ' ' + r.statusText;
			const retry = r.headers.get('Retry-After');
			if (r.status === 429 && retry)
				msg += ' Try again in ' + retry + ' s.';
			throw new ApiError(msg, r.status);
		}
		return data;
	}

	function fail(e) {
		if (e.status === 401 && page !== 'login' && page !== 'enroll') {
			location.assign('/');
			return;
		}
		showError(e.message);
	}

	function setBusy(el, busy) {
		if (!el)
			return;
		el.disabled = busy;
		el.setAttribute('aria-busy', busy ? 'true' : 'false');
	}

	const enc = encodeURIComponent;
	const val = (sel) => { const e = $(sel); return e ? e.value.trim() : ''; };
	const num = (sel) => Number(val(sel));

	// ---- login, enroll, logout ----

	function initLogin() {
		const f = $('#login');
		if (!f)
			return;
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			showError('');
			const btn = $('#login-submit');
			setBusy(btn, true);
			try {
				await api('POST', '/api/v1/login',
					{ name: val('#name'), password: $('#password').value });
				location.assign('/desktops');
			} catch (e) {
				fail(e);
				setBusy(btn, false);
				$('#password').select();
			}
		});
	}

	function initEnroll() {
		const f = $('#enroll');
		if (!f)
			return;
		const p1 = $('#password'), p2 = $('#password2');
		const check = () => p2.setCustomValidity(p1.value === p2.value ? ''
			: 'The passwords do not match.');
		p1.addEventListener('input', check);
		p2.addEventListener('input', check);
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			showError('');
			check();
			if (!f.reportValidity())
				return;
			const bytes = new TextEncoder().encode(p1.value).length;
			if (bytes < 8 || bytes > 256) {
				showError('The password must be 8 to 256 bytes long.');
				return;
			}
			const btn = $('#enroll-submit');
			setBusy(btn, true);
			const body = { name: val('#name'), password: p1.value };
			if (val('#email'))
				body.email = val('#email');
			try {
				await api('POST', '/api/v1/enroll', body);
				await api('POST', '/api/v1/login', { name: body.name, password: p1.value });
				location.assign('/desktops');
			} catch (e) {
				fail(e);
				setBusy(btn, false);
			}
		});
	}

	function initLogout() {
		const b = $('#logout');
		if (!b)
			return;
		b.addEventListener('click', async () => {
			setBusy(b, true);
			try {
				await api('POST', '/api/v1/logout');
			} catch (e) {
				// Already logged out or the session expired: go home anyway.
			}
			location.assign('/');
		});
	}

	// ---- the request form ----

	function cost(memMb, cpus, gbDay, cpuDay) {
		if (![memMb, cpus, gbDay, cpuDay].every(Number.isFinite))
			return '—';
		return (memMb / 1024 * gbDay + cpus * cpuDay).toFixed(2);
	}

	function initRequest() {
		const f = $('#request');
		if (!f)
			return;
		const pool = $('#pool');
		const opt = () => pool.options[pool.selectedIndex];
		const update = () => {
			const o = opt();
			if (!o)
				return;
			const out = $('#cost');
			out.value = cost(num('#memory'), num('#cpus'),
				Number(o.dataset.gbDay), Number(o.dataset.cpuDay));
			out.textContent = out.value;
		};
		const defaults = () => {
			const o = opt();
			if (!o)
				return;
			$('#memory').value = o.dataset.memory || '';
			$('#cpus').value = o.dataset.cpus || '';
			$('#expiry').value = o.dataset.expiry || '0';
			// A pooled pool hands out one of its desktops, named by the broker.
			const name = $('#desktop-name');
			const pooled = o.dataset.kind === 'pooled';
			name.required = !pooled;
			name.closest('.field').hidden = pooled;
			const info = $('#pool-info');
			if (info)
				info.textContent = o.dataset.description || '';
			update();
		};
		pool.addEventListener('change', defaults);
		$('#memory').addEventListener('input', update);
		$('#cpus').addEventListener('input', update);
		update();
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			showError('');
			if (!f.reportValidity())
				return;
			const pooled = opt().dataset.kind === 'pooled';
			const body = {
				pool: pool.value,
				memory_mb: num('#memory'),
				cpus: num('#cpus'),
				expiry_days: num('#expiry'),
			};
			if (!pooled)
				body.name = val('#desktop-name');
			if (val('#description'))
				body.description = $('#description').value;
			const admins = val('#admins').split(/[\s,]+/).filter((s) => s.length);
			if (admins.length)
				body.admins = admins;
			const btn = $('#request-submit');
			setBusy(btn, true);
			try {
				const r = await api('POST', '/api/v1/desktops', body);
				showStatus('Desktop ' + r.desktop.name + (pooled ? ' is yours.' : ' requested.'));
				location.reload();
			} catch (e) {
				fail(e);
				setBusy(btn, false);
			}
		});
	}

	// ---- admin forms ----

	const POOL_FIELDS = [
		// [input id, JSON field, numeric]
		['#pool-name', 'name', false],
		['#pool-description', 'description', false],
		['#pool-kind', 'kind', false],
		['#pool-template', 'template', false],
		['#pool-memory', 'memory_mb', true],
		['#pool-cpus', 'cpus', true],
		['#pool-max', 'max_desktops', true],
		['#pool-max-per-user', 'max_per_user', true],
		['#pool-expiry', 'expiry_days', true],
		['#pool-gb-day', 'cost_per_gb_day', true],
		['#pool-cpu-day', 'cost_per_cpu_day', true],
	];

	function initPoolForm() {
		const f = $('#pool-create');
		if (!f)
			return;
		const cancel = $('#pool-cancel');
		const reset = () => {
			delete f.dataset.edit;
			$('#pool-name').readOnly = false;
			$('#pool-submit').textContent = 'Create pool';
			$('#pool-form-title').textContent = 'Create a pool';
			cancel.hidden = true;
		};
		cancel.addEventListener('click', () => {
			f.reset();
			reset();
		});
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			showError('');
			if (!f.reportValidity())
				return;
			const body = {};
			for (const [sel, key, isNum] of POOL_FIELDS)
				body[key] = isNum ? num(sel) : $(sel).value.trim();
			const edit = f.dataset.edit;
			const btn = $('#pool-submit');
			setBusy(btn, true);
			try {
				if (edit) {
					delete body.name;
					await api('PATCH', '/api/v1/pools/' + enc(edit), body);
				} else {
					await api('POST', '/api/v1/pools', body);
				}
				location.reload();
			} catch (e) {
				fail(e);
				setBusy(btn, false);
			}
		});
	}

	function editPool(btn) {
		const f = $('#pool-create');
		const row = btn.closest('tr');
		if (!f || !row)
			return;
		const d = row.dataset;
		const from = {
			name: d.pool, description: d.description, kind: d.kind, template: d.template,
			memory_mb: d.memory, cpus: d.cpus, max_desktops: d.max,
			max_per_user: d.maxPerUser, expiry_days: d.expiry,
			cost_per_gb_day: d.gbDay, cost_per_cpu_day: d.cpuDay,
		};
		for (const [sel, key] of POOL_FIELDS)
			$(sel).value = from[key] === undefined ? '' : from[key];
		f.dataset.edit = d.pool;
		$('#pool-name').readOnly = true;
		$('#pool-submit').textContent = 'Save pool';
		$('#pool-form-title').textContent = 'Edit pool ' + d.pool;
		$('#pool-cancel').hidden = false;
		f.scrollIntoView({ block: 'start' });
		$('#pool-description').focus();
	}

	function initUserForm() {
		const f = $('#user-create');
		if (!f)
			return;
		const source = $('#user-source');
		if (source) {
			source.addEventListener('change', () => {
				const pw = $('#user-password');
				const pam = source.value === 'pam';
				pw.required = !pam;
				pw.disabled = pam;
				pw.closest('.field').hidden = pam;
			});
		}
		f.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			showError('');
			if (!f.reportValidity())
				return;
			const source = $('#user-source');
			const body = {
				name: val('#user-name'),
				role: $('#user-role').value,
			};
			// PAM users' passwords are PAM's: the broker keeps none.
			if (source && source.value === 'pam')
				body.source = 'pam';
			else
				body.password = $('#user-password').value;
			if (val('#user-email'))
				body.email = val('#user-email');
			const btn = $('#user-submit');
			setBusy(btn, true);
			try {
				await api('POST', '/api/v1/users', body);
				location.reload();
			} catch (e) {
				fail(e);
				setBusy(btn, false);
			}
		});
		document.addEventListener('change', async (ev) => {
			const sel = ev.target.closest('select[data-action="role"]');
			if (!sel)
				return;
			showError('');
			setBusy(sel, true);
			try {
				await api('PATCH', '/api/v1/users/' + enc(sel.dataset.user),
					{ role: sel.value });
				location.reload();
			} catch (e) {
				fail(e);
				setBusy(sel, false);
			}
		});
	}

	// ---- row actions ----

	const CONFIRM = {
		delete: (b) => 'Delete desktop ' + b.dataset.desktop + '? Its disk is destroyed.',
		'delete-pool': (b) => 'Delete pool ' + b.dataset.pool + '?',
		'delete-user': (b) => 'Delete user ' + b.dataset.user + '?',
	};

	function request(btn) {
		const a = btn.dataset.action;
		const d = enc(btn.dataset.desktop || '');
		switch (a) {
		case 'start': case 'stop': case 'restart':
			return ['POST', '/api/v1/desktops/' + d + '/' + a];
		case 'delete':
			return ['DELETE', '/api/v1/desktops/' + d];
		case 'maintenance':
			return ['POST', '/api/v1/hosts/' + enc(btn.dataset.host) + '/maintenance',
				{ on: btn.getAttribute('aria-pressed') !== 'true' }];
		case 'delete-pool':
			return ['DELETE', '/api/v1/pools/' + enc(btn.dataset.pool)];
		case 'delete-user':
			return ['DELETE', '/api/v1/users/' + enc(btn.dataset.user)];
		}
		return null;
	}

	function toggleProps(btn) {
		const panel = document.getElementById(btn.getAttribute('aria-controls'));
		if (!panel)
			return;
		const open = btn.getAttribute('aria-expanded') !== 'true';
		panel.hidden = !open;
		btn.setAttribute('aria-expanded', open ? 'true' : 'false');
	}

	function initActions() {
		document.addEventListener('click', async (ev) => {
			const link = ev.target.closest('a[data-action="connect"]');
			if (link && link.getAttribute('aria-disabled') === 'true') {
				ev.preventDefault();
				return;
			}
			const btn = ev.target.closest('button[data-action]');
			if (!btn || btn.disabled)
				return;
			const a = btn.dataset.action;
			if (a === 'properties')
				return toggleProps(btn);
			if (a === 'edit-pool')
				return editPool(btn);
			const req = request(btn);
			if (!req)
				return;
			if (CONFIRM[a] && !window.confirm(CONFIRM[a](btn)))
				return;
			showError('');
			setBusy(btn, true);
			try {
				await api(...req);
				location.reload();
			} catch (e) {
				fail(e);
				setBusy(btn, false);
			}
		});
	}

	// ---- live updates ----

	function busyNow() {
		if ($$('tr[data-desktop]').some((r) => BUSY_DESKTOP.includes(r.dataset.state) ||
				r.dataset.runningJob))
			return true;
		return $$('tr[data-job]').some((r) => BUSY_JOB.includes(r.dataset.state));
	}

	function setBadge(cell, state) {
		if (!cell || cell.dataset.state === state)
			return;
		cell.dataset.state = state;
		const badge = $('.badge', cell);
		if (!badge)
			return;
		const b = BADGES[state] || ['off', state];
		badge.className = 'badge ' + b[0];
		badge.textContent = b[1];
	}

	function setProgress(el, job) {
		if (!el)
			return;
		const p = Number(job.progress);
		if (Number.isFinite(p)) {
			el.value = Math.max(0, Math.min(100, p));
			el.textContent = el.value + '%';
		}
	}

	function sameState(row, state) {
		return row.dataset.state === state;
	}

	// Apply a fresh desktop list and job list; true when the rows no
	// longer match the page's (rows appeared or went): time to reload.
	function apply(desktops, jobs) {
		let reload = false;
		const byId = new Map();
		for (const j of Array.isArray(jobs) ? jobs : [])
			byId.set(String(j.id), j);
		if (Array.isArray(desktops)) {
			const seen = new Set();
			for (const d of desktops) {
				const row = $('tr[data-desktop="' + CSS.escape(String(d.name)) + '"]');
				seen.add(String(d.name));
				if (!row) {
					reload = true;
					continue;
				}
				if (!sameState(row, d.state)) {
					row.dataset.state = d.state;
					setBadge($('[data-state]', row), d.state);
				}
				if (d.job === null || d.job === undefined)
					delete row.dataset.runningJob;
				else
					row.dataset.runningJob = String(d.job);
			}
			for (const row of $$('tr[data-desktop]'))
				if (!seen.has(row.dataset.desktop))
					reload = true;
		}
		for (const el of $$('progress[data-job-progress]')) {
			const j = byId.get(el.dataset.jobProgress);
			if (j)
				setProgress(el, j);
		}
		for (const row of $$('tr[data-job]')) {
			const j = byId.get(row.dataset.job);
			if (!j)
				continue;
			row.dataset.state = j.state;
			setBadge($('[data-state]', row), j.state);
			setProgress($('progress', row), j);
			const msg = $('[data-field="message"]', row);
			if (msg && typeof j.message === 'string')
				msg.textContent = j.message;
			const fin = $('[data-field="finished"]', row);
			if (fin && typeof j.finished === 'string')
				fin.textContent = j.finished.replace('T', ' ').replace(/:\d\dZ$/, ' UTC');
		}
		return reload;
	}

	async function poll() {
		try {
			const all = page === 'admin' ? '?all=1' : '';
			const [desktops, jobs] = await Promise.all([
				api('GET', '/api/v1/desktops' + all),
				api('GET', '/api/v1/jobs?limit=100'),
			]);
			if (apply(desktops, jobs) || !busyNow()) {
				location.reload();
				return;
			}
		} catch (e) {
			if (e.status === 401) {
				location.assign('/');
				return;
			}
			showError(e.message);
		}
		setTimeout(poll, POLL_MS);
	}

	function initPolling() {
		if ((page === 'desktops' || page === 'admin') && busyNow())
			setTimeout(poll, POLL_MS);
	}

	initLogin();
	initEnroll();
	initLogout();
	initRequest();
	initPoolForm();
	initUserForm();
	initActions();
	initPolling();
})();
