// Type-aware lint for the whole project, plus the Temporal sandbox rules for workflows/.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.tools/', 'coverage/', '**/*.mjs', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment only in config.ts (loadConfig).',
        },
      ],
    },
  },
  {
    files: ['config.ts', 'dev/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'vitest.config.ts', '**/*.test.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no native modules, no activity values.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Node built-ins are not allowed in workflow code.',
            })),
            { name: 'pg', message: 'Database access belongs in activities.' },
            { name: 'pg-copy-streams', message: 'Database access belongs in activities.' },
            { name: 'onnxruntime-node', message: 'Model inference belongs in activities.' },
            { name: '@temporalio/activity', message: 'Activity context is not available in workflows.' },
            { name: '@temporalio/worker', message: 'The worker package is not sandbox-safe.' },
            { name: '@temporalio/client', message: 'Use @temporalio/workflow APIs inside workflows.' },
          ],
          patterns: [
            {
              group: [
                '**/activities',
                '**/activities/**',
                '**/scoring/**',
                '**/db/**',
                '**/config',
                '**/logger',
              ],
              allowTypeImports: true,
              message: 'Workflows may import activities (and other side-effecting modules) as types only.',
            },
          ],
        },
      ],
    },
  },
);
