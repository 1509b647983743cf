@echo off
rem Cleaners only (no platform is contacted). Extra arguments go to the runner.
call "%~dp0run_datalake_cron.bat" --skip-extractors %*
exit /b %ERRORLEVEL%
