// Liaison's staff pages work without this script; it only adds what a script can: the focus moves the GOV.UK
// Design System makes (the error summary and a success banner on load, the field an error summary link
// names), and live news of new notices, through server-sent events, so that one shows without a reload.
(function () {
  'use strict';
  var d = document;
  d.body.classList.add('govuk-frontend-supported');

  function focusOnce(element) {
    var had = element.hasAttribute('tabindex');
    if (!had) element.setAttribute('tabindex', '-1');
    element.addEventListener('blur', function () { if (!had) element.removeAttribute('tabindex'); }, { once: true });
    element.focus();
  }

  var summary = d.querySelector('.govuk-error-summary');
  var success = d.querySelector('.govuk-notification-banner[role="alert"]');
  if (summary) focusOnce(summary); else if (success) focusOnce(success);
  if (summary) {
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      var input = link && d.getElementById(link.hash.slice(1));
      if (!input) return;
      var fieldset = input.closest('fieldset');
      var legend = fieldset && fieldset.querySelector('legend');
      var label = d.querySelector('label[for="' + CSS.escape(input.id) + '"]');
      var target = (legend && /^(radio|checkbox)$/.test(input.type)) ? legend : (label || legend);
      if (!target) return;
      event.preventDefault();
      target.scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  // New notices for this member's inboxes, as the daemon announces them.
  var live = d.getElementById('live-updates');
  if (live && live.dataset.inboxes && window.EventSource) {
    var source = new EventSource('/ui/events');
    source.addEventListener('notice', function (event) {
      var news;
      try { news = JSON.parse(event.data); } catch (error) { return; }
      var banner = d.createElement('div');
      banner.className = 'govuk-notification-banner';
      banner.setAttribute('role', 'region');
      banner.setAttribute('aria-labelledby', 'live-updates-title');
      var header = d.createElement('div');
      header.className = 'govuk-notification-banner__header';
      var title = d.createElement('h2');
      title.className = 'govuk-notification-banner__title';
      title.id = 'live-updates-title';
      title.textContent = 'New notice';
      header.appendChild(title);
      var content = d.createElement('div');
      content.className = 'govuk-notification-banner__content';
      var text = d.createElement('p');
      text.className = 'govuk-notification-banner__heading';
      text.textContent = 'A new notice has arrived in ' + news.label + '. ';
      var link = d.createElement('a');
      link.className = 'govuk-notification-banner__link';
      link.href = news.href;
      link.textContent = 'Show the inbox';
      text.appendChild(link);
      content.appendChild(text);
      banner.appendChild(header);
      banner.appendChild(content);
      live.replaceChildren(banner);
    });
    window.addEventListener('pagehide', function () { source.close(); });
  }
})();
