import { z } from 'zod';

// RFC 5321 limits: 64 characters before the @, 254 in all.
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(DOMAIN, 'Give a DNS domain name such as "contoso.com".');

export const userPrincipalNameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'A user principal name has at most 254 characters.')
  .refine((value) => {
    const at = value.lastIndexOf('@');
    const local = value.slice(0, at);
    return at > 0 && local.length <= 64 && LOCAL_PART.test(local) && DOMAIN.test(value.slice(at + 1));
  }, 'Give a user principal name such as "adele@contoso.com".');

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'A name cannot be empty.')
  .max(256, 'A name has at most 256 characters.');

// NIST SP 800-63B: at least 8 characters, accept at least 64.
export const passwordSchema = z
  .string()
  .min(8, 'A password has at least 8 characters.')
  .max(256, 'A password has at most 256 characters.');

export const domainOf = (userPrincipalName: string) => userPrincipalName.slice(userPrincipalName.lastIndexOf('@') + 1);
