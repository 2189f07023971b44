from circle15.cli import main

raise SystemExit(main())
