from datawrangler.cli import main

raise SystemExit(main())
