// Lint rules: typescript-eslint's type-aware recommended set, plus the few rules that catch
// real bugs in async server code (floating promises, misused promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.stagewise/**', 'gpu-runner/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // The transaction travels in the context (ARCHITECTURE.md, "The request context"): src/ opens
    // one only through withTransaction(ctx, …), which joins the caller's transaction when there
    // is one. Reading a snapshot (common/db/snapshot-cursor.ts) is the one other BEGIN.
    files: ['src/**/*.ts'],
    ignores: ['src/common/request-context.ts', 'src/common/db/snapshot-cursor.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(transaction|startTransaction|createQueryRunner)$/]',
          message:
            'Open transactions with withTransaction(ctx, …) (common/request-context.ts), so a caller’s transaction is joined.',
        },
        {
          selector: 'Literal[value=/^\\s*(BEGIN|START TRANSACTION)\\b/i]',
          message:
            'Open transactions with withTransaction(ctx, …) (common/request-context.ts), not hand-written BEGIN.',
        },
      ],
    },
  },
  {
    // Tests read untyped GraphQL responses; node:test's describe/it return promises it awaits.
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The dashboard's browser modules, served as written (no build step): no type information,
    // the browser's globals and uPlot's.
    files: ['src/dashboard/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'fetch',
          'console',
          'setTimeout',
          'requestAnimationFrame',
          'AbortController',
          'ResizeObserver',
          'TextDecoderStream',
          'URLSearchParams',
          'Option',
          'atob',
          'uPlot',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
