from dvcops.cli import main

main()
