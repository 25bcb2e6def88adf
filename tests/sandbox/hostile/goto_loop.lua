-- expect: time limit of 1 s exceeded
::again::
goto again
