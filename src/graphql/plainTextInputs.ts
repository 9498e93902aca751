import SchemaBuilder, {
  BasePlugin,
  type PothosInputFieldConfig,
  type PothosOutputFieldConfig,
  type SchemaTypes,
  unwrapInputFieldType,
} from '@pothos/core';
import type { StandardSchemaV1 } from '@pothos/plugin-validation';
import { findTextProblem } from '../domain/plainText.js';

const VALIDATION = '@pothos/plugin-validation';

/** A String or ID value, or a list of them, that is plain text (domain/plainText.ts). */
const plainText: StandardSchemaV1 = {
  '~standard': {
    version: 1,
    vendor: 'phone-sign-in',
    validate: (value) => {
      const found = findTextProblem(value);
      return found ? { issues: [{ message: `The text ${found.problem}.`, path: found.path }] } : { value };
    },
  },
};

/**
 * Every String and ID argument and input field, of every operation, must be plain text. Added as
 * the first schema the validation plugin runs on the value, so a refusal takes that plugin's one
 * path: a typed InputValidationError (INVALID_INPUT) from a mutation, BAD_USER_INPUT from a query
 * or subscription, before any resolver runs. Fields added later are covered without a word.
 * Must follow the validation plugin in the builder's plugin list: Pothos runs these hooks last
 * plugin first, and the validation plugin reads the schemas this one adds.
 */
class PlainTextInputs<Types extends SchemaTypes> extends BasePlugin<Types> {
  // Fields of input types. Arguments pass here too, but only after the validation plugin has
  // read them (below), so they are left alone here.
  override onInputFieldConfig(config: PothosInputFieldConfig<Types>): PothosInputFieldConfig<Types> {
    return config.kind === 'Arg' ? config : this.checked(config);
  }

  override onOutputFieldConfig(config: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const args = Object.fromEntries(Object.entries(config.args).map(([name, arg]) => [name, this.checked(arg)]));
    return { ...config, args };
  }

  private checked(config: PothosInputFieldConfig<Types>): PothosInputFieldConfig<Types> {
    const typeName = this.buildCache.getTypeConfig(unwrapInputFieldType(config.type)).name;
    if (typeName !== 'String' && typeName !== 'ID') return config;
    const validation = config.extensions?.[VALIDATION] as { schemas?: StandardSchemaV1[] } | undefined;
    // The validation plugin runs its schemas last first: at the end of the list, this one runs first.
    return { ...config, extensions: { ...config.extensions, [VALIDATION]: { ...validation, schemas: [...(validation?.schemas ?? []), plainText] } } };
  }
}

export const PlainTextInputsPlugin = 'plainTextInputs' as const;
SchemaBuilder.registerPlugin(PlainTextInputsPlugin, PlainTextInputs);

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      plainTextInputs: PlainTextInputs<Types>;
    }
  }
}
