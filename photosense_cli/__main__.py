from photosense_cli.cli import main

main()
