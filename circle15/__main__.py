from circle15.entry import run

run()
