from consilience.cli.app import main

main()
