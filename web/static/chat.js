/* Workroom web chat: plain JavaScript, no libraries, no external resources.
 *
 * The page only renders what the server says. Its own words are the few "chrome" strings
 * below (title, placeholder, send button, connection notices), in Chinese or English as
 * /api/me tells. Until it tells, the page shows its bilingual first paint (chat.html): an
 * English reader is not greeted in Chinese only.
 */
(function () {
  'use strict';

  var CHROME = {
    zh: {
      htmlLang: 'zh-CN',
      title: '职工群众工作室',
      placeholder: '输入文字，或点上面的按钮',
      send: '发送',
      retrying: '网络不稳定，正在重试…',
      failed: '发送失败，点此重试',
      rejected: '这条消息没能发送（可能太长），请修改后再发。',
      sending: '发送中…',
      notSent: '未发送',
      download: '下载',
      attach: '发送照片、语音或视频'
    },
    en: {
      htmlLang: 'en',
      title: 'Workers\u2019 Workroom',
      placeholder: 'Type a message…',
      send: 'Send',
      retrying: 'Connection unstable, retrying…',
      failed: 'Sending failed, tap to retry',
      rejected: 'This message could not be sent (it may be too long). Please edit it and try again.',
      sending: 'Sending…',
      notSent: 'Not sent',
      download: 'Download',
      attach: 'Send a photo, voice note or video'
    }
  };

  // Back-off between attempts of one message: 1 s, 2 s, 4 s, 8 s, 15 s (about 30 s).
  // (Tests may shorten it by setting window.WORKROOM_RETRY_DELAYS before the page runs.)
  var RETRY_DELAYS = window.WORKROOM_RETRY_DELAYS || [1000, 2000, 4000, 8000, 15000];
  var ATTEMPT_TIMEOUT = 20000;
  var FILE_TIMEOUT = 180000;  // a photo or video on a slow phone network
  var FILE_ICONS = {image: '\uD83D\uDCF7', audio: '\uD83C\uDFA4', video: '\uD83C\uDFAC'};
  var POLL_EVERY = 3000;
  var FIRST_LOAD_NOTICES = 5;
  var INBOX_PAGE = 50;
  // What the page showed, kept in this browser for this session only (a receipt code is
  // shown once and a phone reloads a page it put aside): the server keeps no transcript.
  var STORE_KEY = 'workroom.chat.v2';
  var OLD_KEYS = ['workroom.inbox.v1'];
  var KEEP_MESSAGES = 200;

  var messages = document.getElementById('messages');
  var form = document.getElementById('composer');
  var input = document.getElementById('input');
  var sendButton = document.getElementById('send');
  var attachButton = document.getElementById('attach');
  var fileInput = document.getElementById('file');
  var statusLine = document.getElementById('status');
  var title = document.getElementById('title');

  var lang = null;          // the page's language: null until /api/me tells it
  var zone = null;          // the workroom's time zone, as /api/me tells (null: the phone's)
  var fileMax = 0;          // the largest file the server takes (bytes), as /api/me tells
  var busy = false;
  var failed = null;        // the message that gave up: {id, body, bubble, refocus}
  var who = null;           // whose chat this is: the session tag /api/me tells ('' none yet)
  var log = [];             // what this page showed since the session began, as kept
  var inboxLast = null;     // last inbox id shown; null: nothing known yet (first load)
  var inboxSince = null;    // the server's cursor: pushes edited from then on are fetched
  var inboxSeen = null;     // the server's other cursor: what the last poll could see, so
                            // the next brings a push committed late under an id shown past
  var polling = false;
  var pollTimer = null;
  var pollRunning = false;
  var polls = 0;            // completed polls (tests wait on data-inbox-polls)
  var shown = {};           // inbox ids already on the page

  // --- chrome -------------------------------------------------------------------------

  function t(key) {
    return (CHROME[lang] || CHROME.zh)[key];
  }

  function applyChrome() {
    document.documentElement.lang = t('htmlLang');
    document.title = t('title');
    title.textContent = t('title');
    input.placeholder = t('placeholder');
    input.setAttribute('aria-label', t('placeholder'));
    sendButton.textContent = t('send');
    attachButton.setAttribute('aria-label', t('attach'));
    attachButton.title = t('attach');
    if (failed) showFailed();
  }

  function refreshMe() {
    return fetch('/api/me', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (me) {
        if (!me) return null;
        if (me.zone) zone = me.zone;
        if (me.file_max) fileMax = me.file_max;
        var next = me.lang === 'en' ? 'en' : 'zh';
        if (next !== lang) {
          lang = next;
          applyChrome();
        }
        return me;
      })
      .catch(function () { return null; });
  }

  // --- rendering ----------------------------------------------------------------------

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function isAck(value) {
    return /^ack:\d+$/.test(value || '');
  }

  // A push (or a kept one) whose 收到 is still to be pressed.
  function waitsForAck(item) {
    return (item.buttons || []).some(function (b) {
      return isAck(b.value) && (item.pressed || []).indexOf(b.value) < 0;
    });
  }

  // The conversation's own buttons go stale once its next message comes. A push is no
  // part of it: it retires none of them (the question being answered stays live), and its
  // own buttons stay, as on the other channels; so do acknowledge buttons, until pressed.
  function disableOlderButtons() {
    var buttons = messages.querySelectorAll('.msg.bot button.btn');
    for (var i = 0; i < buttons.length; i++) {
      if (!isAck(buttons[i].getAttribute('data-value'))) buttons[i].disabled = true;
    }
  }

  function makeButton(b) {
    var el = document.createElement('button');
    el.type = 'button';
    // choice: an answer; action: submit, send now, acknowledge; nav: back, cancel, help, skip
    var kind = b.kind === 'nav' || b.kind === 'action' ? b.kind : 'choice';
    el.className = 'btn ' + (kind === 'nav' ? 'nav' : 'choice') +
      (kind === 'action' ? ' action' : '') + (isAck(b.value) ? ' ack' : '');
    el.setAttribute('data-testid', 'btn');
    el.setAttribute('data-value', b.value);
    el.setAttribute('data-kind', kind);
    el.textContent = b.label;
    return el;
  }

  // `numbered`: a question of the conversation, whose options a typed number picks (as
  // on WeChat): each choice shows its number, as the engine counts them.
  function renderButtons(list, numbered) {
    var box = document.createElement('div');
    box.className = 'buttons';
    var choices = list.filter(function (b) { return b.kind !== 'nav'; });
    var navs = list.filter(function (b) { return b.kind === 'nav'; });
    var options = list.filter(function (b) { return b.kind === 'choice'; });
    numbered = numbered && (options.length >= 2 || (options.length && navs.length));
    choices.forEach(function (b) {
      var el = makeButton(b);
      var n = options.indexOf(b);
      if (numbered && n >= 0) el.setAttribute('data-n', String(n + 1));
      box.appendChild(el);
    });
    if (choices.length && navs.length) {
      var br = document.createElement('span');
      br.className = 'break';
      box.appendChild(br);
    }
    navs.forEach(function (b) { box.appendChild(makeButton(b)); });
    return box;
  }

  function isFile(b) {
    return /^file:/.test(b.kind || '');
  }

  // A record's file (a button of kind file:<photo|video|voice|file> whose value is its
  // address on this server): shown in the message, with a link to download it.
  function renderFile(b) {
    var box = document.createElement('div');
    box.className = 'file';
    box.setAttribute('data-testid', 'file');
    var what = b.kind.slice(5);
    var media = null;
    if (what === 'photo') {
      media = document.createElement('img');
      media.alt = b.label;
    } else if (what === 'video' || what === 'voice') {
      media = document.createElement(what === 'video' ? 'video' : 'audio');
      media.controls = true;
      media.preload = 'none';
    }
    if (media) {
      media.src = b.value;
      box.appendChild(media);
    }
    var link = document.createElement('a');
    link.href = b.value;
    link.setAttribute('download', '');
    link.textContent = t('download');
    box.appendChild(link);
    return box;
  }

  function addMessage(kind, text, buttons, extra, restored) {
    buttons = buttons || [];
    var files = buttons.filter(isFile);
    buttons = buttons.filter(function (b) { return !isFile(b); });
    if (kind === 'bot' && !restored) disableOlderButtons();
    var wrap = buildMessage(kind, text, files, buttons, extra);
    messages.appendChild(wrap);
    scrollDown();
    return wrap;
  }

  function buildMessage(kind, text, files, buttons, extra) {
    var wrap = document.createElement('div');
    wrap.className = 'msg ' + kind;
    wrap.setAttribute('data-testid', kind + '-msg');
    var bubble = document.createElement('div');
    bubble.className = 'bubble';
    bubble.textContent = text;
    files.forEach(function (b) { bubble.appendChild(renderFile(b)); });
    if (extra) bubble.appendChild(extra);
    wrap.appendChild(bubble);
    if (buttons.length) wrap.appendChild(renderButtons(buttons, kind === 'bot'));
    return wrap;
  }

  // Show the buttons of `wrap` whose values are in `pressed` as pressed.
  function showPressed(wrap, pressed) {
    var buttons = wrap.querySelectorAll('button.btn');
    for (var i = 0; i < buttons.length; i++) {
      if ((pressed || []).indexOf(buttons[i].getAttribute('data-value')) >= 0) {
        buttons[i].disabled = true;
        buttons[i].classList.add('pressed');
      }
    }
  }

  // A time as the pushes' own words give it: "2026-11-24 10:55" in the workroom's zone.
  function localTime(iso) {
    if (!iso) return '';
    var s = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + 'Z';
    var d = new Date(s);
    if (isNaN(d.getTime())) return '';
    if (zone && window.Intl && Intl.DateTimeFormat) {
      try {
        var parts = {};
        new Intl.DateTimeFormat('en-US', {
          timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
          day: '2-digit', hour: '2-digit', minute: '2-digit'
        }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
        return parts.year + '-' + parts.month + '-' + parts.day + ' ' + parts.hour + ':' +
          parts.minute;
      } catch (e) { /* a zone this browser does not know: the phone's own below */ }
    }
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function noticeTime(item) {
    var time = document.createElement('span');
    time.className = 'time';
    time.textContent = localTime(item.created_at);
    return time;
  }

  function addNotice(item, restored) {
    if (shown[item.id]) return null;
    shown[item.id] = true;
    var el = addMessage('notice', item.text, item.buttons, noticeTime(item), restored);
    el.setAttribute('data-inbox-id', String(item.id));
    el.setAttribute('data-version', String(item.version || 0));
    return el;
  }

  // A push shown, edited since (an alert acknowledged, here or by someone else): its new
  // words and buttons in its place, and kept so.
  function applyEdit(item) {
    var old = messages.querySelector('.msg.notice[data-inbox-id="' + item.id + '"]');
    if (!old || Number(old.getAttribute('data-version') || 0) >= (item.version || 0)) return;
    var buttons = item.buttons || [];
    var wrap = buildMessage('notice', item.text, buttons.filter(isFile),
                            buttons.filter(function (b) { return !isFile(b); }),
                            noticeTime(item));
    wrap.setAttribute('data-inbox-id', String(item.id));
    wrap.setAttribute('data-version', String(item.version || 0));
    var entry = old.workroomEntry;
    if (entry) showPressed(wrap, entry.pressed);
    old.parentNode.replaceChild(wrap, old);
    if (entry) {
      entry.text = item.text;
      entry.buttons = buttons;
      entry.version = item.version || 0;
      wrap.workroomEntry = entry;
      rewrite(entry);
    }
  }

  // --- what the page showed, kept across reloads ----------------------------------------

  function readStore() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || 'null');
      if (saved && typeof saved.who === 'string' && Array.isArray(saved.items)) return saved;
    } catch (e) { /* private mode or a broken value: nothing kept */ }
    return null;
  }

  function forgetStore() {
    try {
      window.localStorage.removeItem(STORE_KEY);
      OLD_KEYS.forEach(function (k) { window.localStorage.removeItem(k); });
    } catch (e) { /* storage may be unavailable */ }
  }

  // Change what is kept for this session. Read afresh each time: another tab of the same
  // session may have added to it since.
  function keep(change) {
    if (!who) return;
    var saved = readStore();
    if (!saved || saved.who !== who) saved = {who: who, items: [], last: null};
    change(saved);
    var over = saved.items.length - KEEP_MESSAGES;
    if (over > 0) {  // the oldest go, but never an alert still waiting for its 收到
      saved.items = saved.items.filter(function (e) {
        if (over > 0 && !waitsForAck(e)) {
          over--;
          return false;
        }
        return true;
      });
    }
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(saved));
    } catch (e) { /* full or unavailable: the page still works, a reload forgets */ }
  }

  function sameEntry(a, b) {
    return a.u === b.u || (a.k === 'notice' && b.k === 'notice' && a.id === b.id);
  }

  // A message shown: kept, and tied to its element (a press is recorded on it).
  function record(wrap, entry) {
    entry.u = entry.u || newId();
    wrap.workroomEntry = entry;
    log.push(entry);
    if (log.length > KEEP_MESSAGES) log.shift();
    keep(function (saved) {
      if (!saved.items.some(function (e) { return sameEntry(e, entry); })) saved.items.push(entry);
    });
  }

  function rewrite(entry) {
    keep(function (saved) {
      for (var i = 0; i < saved.items.length; i++) {
        if (sameEntry(saved.items[i], entry)) saved.items[i] = entry;
      }
    });
  }

  // Record that the button `value` of the message `wrap` was pressed.
  function recordPress(wrap, value) {
    var entry = wrap && wrap.workroomEntry;
    if (!entry || (entry.pressed || []).indexOf(value) >= 0) return;
    entry.pressed = (entry.pressed || []).concat([value]);
    rewrite(entry);
  }

  // A kept message shown again after a reload. The conversation's own buttons are history
  // now (the menu the page asks for leads); a push's buttons still work.
  function restore(entry) {
    var wrap = null;
    if (entry.k === 'notice') {
      wrap = addNotice(entry, true);
    } else if (entry.k === 'bot' || entry.k === 'user') {
      wrap = addMessage(entry.k, entry.text, entry.buttons, null, true);
    }
    if (!wrap) return;
    wrap.workroomEntry = entry;
    log.push(entry);
    var buttons = wrap.querySelectorAll('button.btn');
    for (var i = 0; i < buttons.length; i++) {
      if (entry.k === 'bot' && !isAck(buttons[i].getAttribute('data-value'))) {
        buttons[i].disabled = true;
      }
    }
    showPressed(wrap, entry.pressed);
  }

  function entryOf(kind, text, buttons) {
    return {k: kind, text: text, buttons: buttons || []};
  }

  // The session /api/me tells: a page that had none (a first message set the cookie)
  // keeps what it showed under it; another session's kept messages are forgotten.
  function adopt(me) {
    if (!me) return;
    var tag = me.session || '';
    if (tag === who) return;
    var had = who;
    who = tag;
    if (had === null) {
      // /api/me did not answer when the page loaded: what it showed since joins what was
      // kept for this session (if that is what was kept).
      var saved = readStore();
      if (!saved || saved.who !== tag) forgetStore();
      keep(function (kept) {
        log.forEach(function (entry) {
          if (!kept.items.some(function (e) { return sameEntry(e, entry); })) kept.items.push(entry);
        });
      });
      return;
    }
    forgetStore();
    if (had === '') {
      keep(function (kept) {
        kept.items = log.slice();
        kept.last = inboxLast;
        kept.since = inboxSince;
        kept.seen = inboxSeen;
      });
    } else {
      // A different person now (an invite link was opened): their own inbox from the top.
      log = [];
      inboxLast = null;
      inboxSince = null;
      inboxSeen = null;
    }
  }

  // --- status line --------------------------------------------------------------------

  function clearStatus() {
    statusLine.hidden = true;
    statusLine.textContent = '';
  }

  function showStatus(text) {
    statusLine.textContent = text;
    statusLine.hidden = false;
  }

  function showFailed() {
    statusLine.textContent = '';
    var retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'retry';
    retry.setAttribute('data-testid', 'retry');
    retry.textContent = t('failed');
    retry.addEventListener('click', function () {
      if (!failed || busy) return;
      var job = failed;
      failed = null;
      deliver(job);
    });
    statusLine.appendChild(retry);
    statusLine.hidden = false;
  }

  function setBusy(on) {
    busy = on;
    input.disabled = on;
    sendButton.disabled = on;
    attachButton.disabled = on;
    messages.classList.toggle('busy', on);
  }

  // --- sending ------------------------------------------------------------------------

  function newId() {
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var hex = '';
    for (var j = 0; j < bytes.length; j++) hex += (bytes[j] < 16 ? '0' : '') + bytes[j].toString(16);
    return 'w' + hex;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // A file the server would refuse (too large, no photo, recording or video) goes without
  // its bytes: the server answers why, in the reader's words.
  function fileRequest(job) {
    var file = job.file;
    var type = file.type || 'application/octet-stream';
    var takes = /^(image|audio|video)\//.test(type) && type !== 'image/svg+xml' &&
      (!fileMax || file.size <= fileMax);
    return {
      url: '/api/file?id=' + encodeURIComponent(job.id) +
        (takes ? '' : '&size=' + encodeURIComponent(file.size)),
      init: {headers: {'Content-Type': type}, body: takes ? file : ''},
      timeout: FILE_TIMEOUT
    };
  }

  // One attempt: the replies, or an error saying whether a retry may help (and the
  // server's words, when it said why it refused).
  function postOnce(job) {
    var req = job.file ? fileRequest(job) : {
      url: '/api/chat',
      init: {headers: {'Content-Type': 'application/json'}, body: JSON.stringify(job.body)},
      timeout: ATTEMPT_TIMEOUT
    };
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, req.timeout) : null;
    return fetch(req.url, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: req.init.headers,
      body: req.init.body,
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (r) {
      if (timer) clearTimeout(timer);
      if (r.ok) return r.json();
      var err = new Error('HTTP ' + r.status);
      err.retry = r.status >= 500 || r.status === 408 || r.status === 429;
      return r.json().then(function (data) {
        if (data && typeof data.detail === 'string') err.detail = data.detail;
        throw err;
      }, function () { throw err; });
    }, function (e) {
      if (timer) clearTimeout(timer);
      var err = new Error(String(e));
      err.retry = true;
      throw err;
    });
  }

  // Send one message with retries; a retry repeats the SAME id, so the server answers
  // it once and a lost answer is simply fetched again.
  function deliver(job) {
    setBusy(true);
    var attempt = 0;
    function tryOnce() {
      return postOnce(job).then(function (data) {
        clearStatus();
        if (job.pending) job.pending.remove();
        if (job.wrap) record(job.wrap, entryOf('user', job.label));
        (data.replies || []).forEach(function (r) {
          var wrap = addMessage('bot', r.text, r.buttons);
          // The menu the page asks for by itself is not kept: a reload asks again.
          if (job.wrap) record(wrap, entryOf('bot', r.text, r.buttons));
        });
        if (job.button) {
          job.button.classList.add('pressed');
          recordPress(job.button.closest('.msg'), job.button.getAttribute('data-value'));
        }
        if (job.ack) markPressed(job.ack);
        setBusy(false);
        if (job.refocus) input.focus();
        refreshMe().then(function (me) {
          adopt(me);
          startPolling();
        });
      }, function (err) {
        if (err.retry && attempt < RETRY_DELAYS.length) {
          showStatus(t('retrying'));
          return sleep(RETRY_DELAYS[attempt++]).then(tryOnce);
        }
        setBusy(false);
        if (!err.retry) {
          showStatus(err.detail || t('rejected'));
          if (job.pending) job.pending.textContent = t('notSent');
          if (job.text !== undefined && !input.value) input.value = job.text;
          return;
        }
        failed = job;
        showFailed();
        input.disabled = true;  // the failed message goes first, or nothing does
        sendButton.disabled = true;
        attachButton.disabled = true;
      });
    }
    return tryOnce();
  }

  function send(body, label, opts) {
    if (busy || failed) return;
    opts = opts || {};
    var job = {id: newId(), body: body, refocus: !!opts.refocus, ack: opts.ack || null,
               button: opts.button || null, file: opts.file || null};
    job.body.id = job.id;
    if (label !== null) {
      var pending = document.createElement('div');
      pending.className = 'pending';
      pending.textContent = t('sending');
      var wrap = addMessage('user', label, [], null);
      wrap.appendChild(pending);
      job.pending = pending;
      job.wrap = wrap;
      job.label = label;
      if (opts.text !== undefined) job.text = opts.text;
    }
    deliver(job);
  }

  function markPressed(value) {
    var buttons = messages.querySelectorAll('button.btn');
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute('data-value') === value) {
        buttons[i].disabled = true;
        buttons[i].classList.add('pressed');
        recordPress(buttons[i].closest('.msg'), value);
      }
    }
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy || failed) return;
    input.value = '';
    send({text: text}, text, {refocus: true, text: text});
  });

  attachButton.addEventListener('click', function () {
    if (!busy && !failed) fileInput.click();
  });

  // A photo, voice note or video from the phone: sent as a message of its own.
  fileInput.addEventListener('change', function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (!file || busy || failed) return;
    var icon = FILE_ICONS[(file.type || '').split('/')[0]] || '\uD83D\uDCCE';
    send({}, icon + ' ' + (file.name || ''), {file: file});
  });

  // Enter that only finishes an input-method composition must not send.
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.isComposing || e.keyCode === 229)) e.preventDefault();
  });

  messages.addEventListener('click', function (e) {
    var target = e.target;
    var button = target && target.closest ? target.closest('button.btn') : null;
    if (!button || button.disabled || busy || failed) return;
    var value = button.getAttribute('data-value');
    send({action: value}, button.textContent,
         {ack: isAck(value) ? value : null, button: button});
  });

  // --- inbox --------------------------------------------------------------------------

  function saveInboxState() {
    keep(function (saved) {
      if (typeof saved.last !== 'number' || saved.last < inboxLast) saved.last = inboxLast;
      if (inboxSince !== null) saved.since = inboxSince;
      if (inboxSeen !== null) saved.seen = inboxSeen;
    });
  }

  function fetchInbox(after, since, seen) {
    var query = 'after=' + encodeURIComponent(after);
    if (typeof since === 'number') query += '&since=' + encodeURIComponent(since);
    if (typeof seen === 'string') query += '&seen=' + encodeURIComponent(seen);
    return fetch('/api/inbox?' + query, {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      });
  }

  // Everything after `after`, page by page, what was edited since `since`, and what was
  // committed since the poll that answered `seen` under an id up to `after` (a push may
  // come again: addNotice shows an id once).
  function fetchAllAfter(after, since, seen, got) {
    got = got || {messages: [], edited: [], cursor: null, seen: null};
    return fetchInbox(after, since, seen).then(function (data) {
      var page = data.messages || [];
      got.messages = got.messages.concat(page);
      got.edited = got.edited.concat(data.edited || []);
      if (got.cursor === null && typeof data.cursor === 'number') got.cursor = data.cursor;
      if (got.seen === null && typeof data.seen === 'string') got.seen = data.seen;
      if (page.length >= INBOX_PAGE) {
        return fetchAllAfter(page[page.length - 1].id, null, null, got);
      }
      return got;
    });
  }

  function pollOnce() {
    var first = inboxLast === null;
    return fetchAllAfter(first ? 0 : inboxLast, first ? null : inboxSince,
                         first ? null : inboxSeen).then(function (got) {
      var items = got.messages;
      if (first && items.length > FIRST_LOAD_NOTICES) {
        // A first visit (a new phone) shows the latest pushes, and every alert still
        // waiting for this reader's 收到 whatever came after it: last, nearest to the eye.
        items = items.slice(-FIRST_LOAD_NOTICES).filter(function (item) {
          return !waitsForAck(item);
        }).concat(items.filter(waitsForAck));
      }
      items.forEach(function (item) {
        var wrap = addNotice(item);
        if (wrap) {
          record(wrap, {k: 'notice', id: item.id, text: item.text, buttons: item.buttons,
                        created_at: item.created_at, version: item.version || 0});
        }
        inboxLast = Math.max(inboxLast || 0, item.id);
      });
      got.edited.forEach(applyEdit);
      if (got.cursor !== null) inboxSince = got.cursor;
      inboxSeen = got.seen;
      if (inboxLast === null) inboxLast = 0;
      saveInboxState();
      polls++;
      messages.setAttribute('data-inbox-polls', String(polls));
    });
  }

  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(tick, POLL_EVERY);
  }

  function tick() {
    if (pollRunning) return;
    pollRunning = true;
    pollOnce().catch(function () { /* try again on the next tick */ }).then(function () {
      pollRunning = false;
      schedulePoll();
    });
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    tick();
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && polling) {
      clearTimeout(pollTimer);
      tick();
    }
  });

  // --- start --------------------------------------------------------------------------

  refreshMe().then(function (me) {
    if (!lang) {  // /api/me did not answer: the workroom's default language
      lang = 'zh';
      applyChrome();
    }
    // What this session was shown before the reload, first; anything kept for another
    // session (or for none: the cookie is gone) is forgotten.
    who = me ? me.session || '' : null;
    var saved = readStore();
    if (saved && who && saved.who === who) {
      saved.items.forEach(restore);
      if (typeof saved.last === 'number') inboxLast = saved.last;
      if (typeof saved.since === 'number') inboxSince = saved.since;
      if (typeof saved.seen === 'string') inboxSeen = saved.seen;
    } else if (me) {
      forgetStore();
    }
    // The only message the page sends by itself: ask for the menu.
    send({text: '菜单'}, null);
  });
})();
