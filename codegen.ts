// Typed operations for the CLI, the dashboard, the tests and the bench from the committed schema.graphql.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/cli/**/*.ts', 'dashboard/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'src/generated/gql/': {
      preset: 'client',
      config: {
        documentMode: 'string',
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
