import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { type ArgumentNode, type DocumentNode, type FieldNode, type GraphQLSchema, GraphQLError, Kind, TypeInfo, type ValidationContext, validate, visit, visitWithTypeInfo } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../graphql/builder.js';
import { PAGE_SIZE } from '../graphql/common.js';

/**
 * Armor's cost: 2 an object, 1 a scalar, each level 1.5 times the one above, and a page times its
 * `first`/`last`. A page of 100 rows of any list, with every field of its rows and of the objects
 * they link to, costs at most 24,875 today (test/queryAndOriginLimits.test.ts asks each); a page
 * inside a page (100 groups × 100 members) costs over 400,000.
 */
export const MAX_QUERY_COST = 50_000;
export const COST_ADVICE = 'Ask for fewer fields, fewer nested pages or smaller pages (first/last) in one document.';

/**
 * Armor refuses by throwing from inside validation: no error code, and "Syntax Error" on what is
 * no syntax error. Its refusals are reported instead as the validation errors they are
 * (GRAPHQL_VALIDATION_FAILED), with what to do about them.
 */
export const armorRefusal = (advice: string) => ({
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      // Without a validation context to report to, refuse as armor would (never let the document run).
      if (!context) throw error;
      context.reportError(new GraphQLError(`${error.message.replace(/^Syntax Error: /, '')} ${advice}`));
    },
  ],
});

/** What the cost of a document depends on beyond its text: none, or the variables that size its pages. */
type Sizing = { static: true; refusal: GraphQLError | null } | { static: false };

/**
 * Armor counts a page by its `first`/`last` only when the document writes the number: a page sized
 * by a variable, or left at the default size, counted as one row, so `groups(first: $a) {…
 * members(first: $b)}` with 100 and 100 passed as 100 times cheaper than it is. Before such a
 * document runs, this counts it again with every page at the size it will have (the variable's
 * value, or PAGE_SIZE.default; at most PAGE_SIZE.max) and refuses it as armor refuses one over the
 * limit. Documents whose every page size is written (all of the sign-in path's: they have no pages)
 * are looked at once, and cost nothing more after.
 */
export function pageSizesCounted(schema: GraphQLSchema): Plugin<Context> {
  const sizings = new WeakMap<DocumentNode, Sizing>();
  const refusal = (document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null => {
    let sizing = sizings.get(document);
    if (!sizing) {
      const { counted, usesVariables } = withPageSizes(schema, document, {});
      sizing = usesVariables ? { static: false } : { static: true, refusal: counted && costRefusal(schema, counted) };
      sizings.set(document, sizing);
    }
    if (sizing.static) return sizing.refusal;
    return costRefusal(schema, withPageSizes(schema, document, variables ?? {}).counted!);
  };
  const stopIfTooCostly = ({ args, setResultAndStopExecution }: { args: { document: DocumentNode; variableValues?: Record<string, unknown> | null }; setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void }) => {
    const refused = refusal(args.document, args.variableValues);
    if (refused) setResultAndStopExecution({ errors: [refused] });
  };
  return { onExecute: stopIfTooCostly, onSubscribe: stopIfTooCostly };
}

function costRefusal(schema: GraphQLSchema, document: DocumentNode): GraphQLError | null {
  const [refused] = validate(schema, document, [costLimitRule({ maxCost: MAX_QUERY_COST, ...armorRefusal(COST_ADVICE) })]);
  return refused ? new GraphQLError(refused.message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }) : null;
}

const sizeArgument = (size: number): ArgumentNode => ({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'first' }, value: { kind: Kind.INT, value: String(size) } });

/**
 * The document with every page's size written as a number, or null when each already is; and
 * whether a size came from a variable (given, or its default in the document). A size that is not a
 * whole number is left to the resolver to refuse, and counted at the default meanwhile.
 */
function withPageSizes(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>) {
  const typeInfo = new TypeInfo(schema);
  // A variable the request does not give takes its default in the document (`$first: Int = 100`).
  const defaults = new Map<string, number>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const variable of definition.variableDefinitions ?? []) {
      const value = variable.defaultValue?.kind === Kind.INT ? Number(variable.defaultValue.value) : undefined;
      if (value !== undefined) defaults.set(variable.variable.name.value, Math.max(value, defaults.get(variable.variable.name.value) ?? value));
    }
  }
  let changed = false;
  let usesVariables = false;
  const counted = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode) {
        if (!typeInfo.getFieldDef()?.args.some((arg) => arg.name === 'first')) return undefined;
        const size = node.arguments?.find((arg) => arg.name.value === 'first' || arg.name.value === 'last');
        if (size?.value.kind === Kind.INT) return undefined;
        const variable = size?.value.kind === Kind.VARIABLE ? size.value.name.value : undefined;
        const named = variable === undefined ? undefined : variable in variables ? variables[variable] : defaults.get(variable);
        if (variable !== undefined) usesVariables = true;
        const rows = typeof named === 'number' && Number.isInteger(named) ? Math.min(Math.max(named, 1), PAGE_SIZE.max) : PAGE_SIZE.default;
        changed = true;
        return { ...node, arguments: [...(node.arguments ?? []).filter((arg) => arg !== size), sizeArgument(rows)] };
      },
    }),
  );
  return { counted: changed ? counted : null, usesVariables };
}
