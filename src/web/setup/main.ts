import '../shared/styles.css';
import { ApiError, gql } from '../shared/api.js';
import { announce, byId } from '../shared/dom.js';

const form = byId<HTMLFormElement>('setup-form');
const status = byId('status');
const alert = byId('alert');
const value = (id: string) => byId<HTMLInputElement>(id).value.trim();

function warn(sentence: string) {
  status.textContent = '';
  announce(alert, sentence);
}

type Created =
  | { __typename: 'CreateTenantPayload'; admin: { userPrincipalName: string } }
  | { __typename: 'DomainError' | 'InputValidationError'; code: string; message: string; field?: string | null; issues?: Array<{ path: string[]; message: string }> };

/** The input each error concerns, by the field the service names. */
const INPUTS: Record<string, string> = {
  setupCode: 'setup-code',
  name: 'organisation-name',
  domain: 'domain',
  adminUserPrincipalName: 'admin-user-name',
  adminPassword: 'admin-password',
};

// The admin's user name follows the domain until it is edited by hand.
let nameEdited = false;
byId('admin-user-name').addEventListener('input', () => (nameEdited = true));
byId('domain').addEventListener('input', () => {
  if (!nameEdited) byId<HTMLInputElement>('admin-user-name').value = value('domain') ? `admin@${value('domain')}` : '';
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const empty = [...form.querySelectorAll<HTMLInputElement>('input[required]')].find((input) => !input.value.trim());
  if (empty) {
    empty.setAttribute('aria-invalid', 'true');
    empty.focus();
    return warn(`Enter the ${form.querySelector(`label[for=${empty.id}]`)?.textContent?.toLowerCase()}.`);
  }
  const button = form.querySelector('button')!;
  button.disabled = true;
  announce(status, 'Creating your organisation…');
  const input = {
    setupCode: value('setup-code'),
    name: value('organisation-name'),
    domain: value('domain').toLowerCase(),
    adminUserPrincipalName: value('admin-user-name'),
    adminPassword: byId<HTMLInputElement>('admin-password').value,
  };
  gql<{ createFirstTenant: Created }>(
    `mutation($i: CreateFirstTenantInput!) { createFirstTenant(input: $i) { __typename ... on CreateTenantPayload { admin { userPrincipalName } }
      ... on Error { code message } ... on DomainError { field } ... on InputValidationError { issues { path message } } } }`,
    { i: input },
  )
    .then(({ createFirstTenant: result }) => {
      if (result.__typename === 'CreateTenantPayload') {
        form.hidden = true;
        byId('done-admin').textContent = result.admin.userPrincipalName;
        byId('done').hidden = false;
        announce(status, `Organisation ${input.name} created. Sign in as ${result.admin.userPrincipalName}.`);
        byId('sign-in-link').focus();
        return;
      }
      const field = result.field ?? result.issues?.[0]?.path.at(-1);
      const target = field && INPUTS[field] ? byId(INPUTS[field]) : null;
      target?.setAttribute('aria-invalid', 'true');
      warn(result.issues?.length ? result.issues.map((issue) => issue.message).join(' ') : result.message);
      target?.focus();
      if (result.code === 'ALREADY_SET_UP') closed();
    })
    .catch((error: unknown) => warn(error instanceof ApiError ? error.message : 'Something went wrong. Try again.'))
    .finally(() => (button.disabled = false));
});

function closed() {
  form.hidden = true;
  byId('closed').hidden = false;
  warn('This service is already set up. Sign in on the sign-in page instead.');
}

gql<{ setupRequired: boolean }>('{ setupRequired }')
  .then(({ setupRequired }) => {
    if (!setupRequired) return closed();
    form.hidden = false;
    byId('setup-code').focus();
  })
  .catch((error: unknown) => warn(error instanceof ApiError ? error.message : 'The service cannot be reached. Try again.'));
