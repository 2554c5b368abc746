// @ts-check
// typescript-eslint with type information: the rules that catch what the type checker
// cannot (a promise nobody awaits, an async callback where a sync one is expected, an
// `any` leaking in). Formatting is Prettier's job, not this.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bench/out/', 'test/support/fake-discord/openapi/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // With noUncheckedIndexedAccess every `a[i]` and `map.get(k)` may be undefined to the type
      // checker; `!` right after the bound or the `has` that makes it safe reads better than a throw.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans in a message are what messages are made of.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void promise`, `(x) => set.add(x)` and `return done()` in a void function are deliberate shorthands.
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidOperator: true, ignoreVoidReturningFunctions: true },
      ],
    },
  },
  {
    // The size the code of a contributor's first read should have (CONTRIBUTING.md, 'Writing
    // code'): warnings, so a long function is seen in review without failing the build.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['warn', { max: 100, skipBlankLines: true, skipComments: true }],
      'max-lines': ['warn', { max: 350, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests poke at Discord-shaped JSON as the fake receives it: typing every field of it would test the types, not the bot.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // `afterAll(() => fx?.stop())` guards a `beforeAll` that failed, which the types cannot see.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Fakes implement async interfaces with synchronous bodies.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    // The page's own script runs in the browser, as a classic script.
    files: ['public/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
