Decision = DecisionTable = TestResult = build_decision_table = run_table_tests = run_tests = summary_line = None
