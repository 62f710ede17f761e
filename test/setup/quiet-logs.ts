// The handlers' module-scope Powertools logger reads its level when a test file first imports it: silent unless a
// test asks for log lines (it sets POWERTOOLS_LOG_LEVEL before importing), so CI's output shows the tests, not logs.
process.env['POWERTOOLS_LOG_LEVEL'] ??= 'SILENT';
