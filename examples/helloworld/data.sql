exec Insert 'English', 'Hello', 'World';
exec Insert 'French', 'Bonjour', 'Monde';
exec Insert 'Spanish', 'Hola', 'Mundo';
exec Insert 'Danish', 'Hej', 'Verden';
exec Insert 'Italian', 'Ciao', 'Mondo';
exec Select 'Spanish';
SELECT DIALECT, HELLO, WORLD FROM HELLOWORLD ORDER BY DIALECT;
