from ssrec.cli import main

raise SystemExit(main())
