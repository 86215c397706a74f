// Courier Premium: buy (monthly or yearly) and cancel the stub subscription. Payments are a stub:
// nothing is ever charged, and the page says so before and after buying.
import * as api from '../lib/api.js';
import * as sync from '../lib/sync.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, showError } from '../lib/forms.js';
import { icon } from '../lib/icons.js';
import { fullDate } from '../lib/format.js';
import { href } from '../lib/router.js';

const PLANS = [
  { type: 'premium_monthly', name: 'Monthly', price: '$4.99', period: 'per month' },
  { type: 'premium_yearly', name: 'Yearly', price: '$49.99', period: 'per year, two months free' },
];

const PERKS = ['Groups without the 200-member limit', 'A larger request budget for busy accounts', 'The premium star next to your name'];

export function renderPremium(container) {
  let mounted = true;
  const status = h('div', { class: 'premium-status', id: 'premium-status', 'aria-live': 'polite' });
  const result = h('p', { class: 'notice success', id: 'purchase-result', role: 'status', hidden: true });
  const error = errorLine();
  const plans = h('div', { class: 'plans' });

  replaceChildren(container,
    h(
      'section',
      { class: 'page premium-page', 'aria-labelledby': 'premium-title' },
      h('header', { class: 'page-header' },
        h('a', { class: 'icon-button back-button', href: href('home'), 'aria-label': 'Back to chats' }, icon('back')),
        h('h2', { id: 'premium-title' }, icon('star', { className: 'icon premium-star' }), ' Courier Premium'),
      ),
      h('div', { class: 'page-body' },
        h('p', { class: 'notice warning', id: 'no-charge-notice', role: 'note' }, h('strong', { text: 'No real charge. ' }), 'Payments on this server are a stub: buying premium activates it without any payment being taken.'),
        status,
        h('ul', { class: 'perks' }, PERKS.map((perk) => h('li', {}, icon('check'), perk))),
        plans,
        result,
        error,
      ),
    ),
  );

  function renderStatus(info) {
    const sub = info.subscription;
    if (info.is_premium && sub) {
      const renewing = sub.auto_renew && sub.status === 'active';
      replaceChildren(status,
        h('p', { class: 'premium-active' }, icon('star', { className: 'icon premium-star' }), h('strong', { text: 'Premium is active' })),
        h('p', { text: `${sub.type === 'premium_yearly' ? 'Yearly' : 'Monthly'} plan · ${renewing ? 'renews' : 'ends'} ${fullDate(sub.end_date)}` }),
        renewing
          ? h('button', { type: 'button', class: 'button danger', id: 'cancel-premium', text: 'Cancel subscription', on: { click: cancel } })
          : h('p', { class: 'muted', id: 'premium-cancelled', text: 'Renewal is off. Premium stays until the end date.' }),
      );
    } else {
      replaceChildren(status, h('p', { text: 'You do not have Premium.' }));
    }
    status.dataset.premium = String(Boolean(info.is_premium));
    replaceChildren(plans,
      ...PLANS.map((plan) =>
        h(
          'div',
          { class: 'plan' },
          h('h3', { text: plan.name }),
          h('p', { class: 'plan-price', text: plan.price }),
          h('p', { class: 'muted', text: plan.period }),
          h('button', { type: 'button', class: 'button primary', dataset: { plan: plan.type }, text: info.is_premium ? 'Extend' : 'Buy', on: { click: (event) => buy(plan, event.currentTarget) } }),
        ),
      ),
    );
  }

  async function load() {
    try {
      const info = await api.get('/subscriptions/me');
      if (mounted) renderStatus(info);
    } catch (failure) {
      showError(error, api.describe(failure));
    }
  }

  async function refreshMe() {
    sync.setMe(await api.get('/users/me'));
  }

  async function buy(plan, button) {
    button.disabled = true;
    showError(error, null);
    result.hidden = true;
    try {
      // A fresh key per click: a retried request (same key) never pays twice.
      const answer = await api.post('/subscriptions/purchase', { subscription_type: plan.type, payment_method: 'stub' }, { headers: { 'Idempotency-Key': api.randomId() } });
      result.textContent = `${answer.message} (${answer.payment_log.currency} ${answer.payment_log.amount.toFixed(2)}, ${answer.payment_log.notes})`;
      result.hidden = false;
      renderStatus({ is_premium: true, subscription: answer.subscription });
      await refreshMe();
    } catch (failure) {
      showError(error, api.describe(failure));
    } finally {
      button.disabled = false;
    }
  }

  async function cancel() {
    showError(error, null);
    try {
      renderStatus(await api.post('/subscriptions/cancel'));
      result.textContent = 'Subscription cancelled. Premium stays active until the end of the period.';
      result.hidden = false;
      await refreshMe();
    } catch (failure) {
      showError(error, api.describe(failure));
    }
  }

  load();
  return () => {
    mounted = false;
  };
}
