import { userPrincipalNameSchema } from '../domain/names.js';
import { homeRealm } from '../services/homeRealm.js';
import { builder } from './builder.js';

const HomeRealmRef = builder.objectRef<{ signInUrl: string | null }>('HomeRealm').implement({
  description: 'Where a user name signs in: here, or at its federated domain’s identity provider.',
  fields: (t) => ({
    federated: t.boolean({
      description: 'True: send the browser to signInUrl and ask for no password here. False: sign in here (beginSignIn, or a password).',
      resolve: (realm) => realm.signInUrl !== null,
    }),
    signInUrl: t.exposeString('signInUrl', {
      nullable: true,
      description: "The federated domain's identity provider sign-in page, with the user name as login_hint; null when not federated.",
    }),
  }),
});

builder.queryField('homeRealm', (t) =>
  t.field({
    type: HomeRealmRef,
    description:
      'Anyone: home-realm discovery from the user name alone, before a password is typed. Tells only whether the domain is federated, never whether the user exists.',
    args: { userPrincipalName: t.arg.string({ required: true, description: 'The user name typed, e.g. "adele@fabrikam.com".', validate: userPrincipalNameSchema }) },
    resolve: (_root, { userPrincipalName }, { app }) => homeRealm(app, userPrincipalName),
  }),
);
